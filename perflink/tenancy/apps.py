from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "perflink.tenancy"
    label = "tenancy"

from django.apps import AppConfig


class OrgConfig(AppConfig):
    name = "perflink.org"
    label = "org"

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "perflink.core"
    label = "core"

from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "perflink.notify"
    label = "notify"

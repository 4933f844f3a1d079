from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "perflink.web"
    label = "web"

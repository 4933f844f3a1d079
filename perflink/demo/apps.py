from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "perflink.demo"
    label = "demo"

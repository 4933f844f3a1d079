from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "perflink.analytics"
    verbose_name = "Impact analytics"

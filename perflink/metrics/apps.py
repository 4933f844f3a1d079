from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "perflink.metrics"
    label = "metrics"

from django.apps import AppConfig


class IncentivesConfig(AppConfig):
    name = "perflink.incentives"
    label = "incentives"

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "perflink.audit"
    label = "audit"

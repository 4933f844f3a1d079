from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "perflink.ingest"
    label = "ingest"

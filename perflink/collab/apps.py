from django.apps import AppConfig


class CollabConfig(AppConfig):
    name = "perflink.collab"
    label = "collab"

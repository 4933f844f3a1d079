from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "perflink.accounts"
    label = "accounts"

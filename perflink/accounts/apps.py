from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "perflink.accounts"
    label = "accounts"

    def ready(self) -> None:
        # `do_attempt_login` records last_login itself (inside the tenant, audited); Django's signal
        # handler would save the user outside any tenant context, so it is switched off.
        from django.contrib.auth.models import update_last_login
        from django.contrib.auth.signals import user_logged_in

        user_logged_in.disconnect(update_last_login, dispatch_uid="update_last_login")

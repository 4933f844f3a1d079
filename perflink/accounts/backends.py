"""Authentication backend: users are found across tenants (explicitly unscoped), then the
request runs inside the user's tenant."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend

from perflink.core.context import unscoped


class TenantUserBackend(ModelBackend):
    def authenticate(
        self, request: Any, username: str | None = None, password: str | None = None, **kw: Any
    ) -> Any:
        with unscoped("authentication"):
            user = super().authenticate(request, username=username, password=password, **kw)
            if user is not None:
                _ = user.tenant  # load the tenant now, while unscoped
            return user

    def get_user(self, user_id: Any) -> Any:
        with unscoped("session user lookup"):
            user = super().get_user(user_id)
            if user is not None:
                _ = user.tenant
                if not user.tenant.is_active:
                    return None
            return user

    def user_can_authenticate(self, user: Any) -> bool:
        return super().user_can_authenticate(user) and user.role != "integration"

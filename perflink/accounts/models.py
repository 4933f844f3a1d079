"""Users (one tenant each, one role each) and API tokens for systems."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _

from perflink.accounts.choices import Role
from perflink.core.models import TenantManager, TenantOwned


class TenantUserManager(UserManager, TenantManager):  # type: ignore[misc]
    """Scoped like every tenant-owned manager; authentication looks users up under `unscoped()`."""

    def get_queryset(self) -> Any:
        return TenantManager.get_queryset(self)


class User(AbstractUser, TenantOwned):
    """A person who logs in. Usernames are unique across the platform (e.g. `hr.wang@demo`)."""

    role = models.CharField(_("role"), max_length=30, choices=Role.choices, default=Role.EMPLOYEE)
    employee = models.ForeignKey(
        "org.Employee",
        verbose_name=_("employee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    scope_unit = models.ForeignKey(
        "org.OrgUnit",
        verbose_name=_("data scope unit"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("A unit head sees this unit and everything below it."),
    )
    failed_logins = models.PositiveIntegerField(_("failed logins"), default=0)
    locked_until = models.DateTimeField(_("locked until"), null=True, blank=True)
    preferred_language = models.CharField(_("language"), max_length=10, blank=True)

    objects = TenantUserManager()

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        base_manager_name = "objects"

    def display_name(self) -> str:
        return self.get_full_name() or self.username


class ApiToken(TenantOwned):
    """A bearer token for a system. Only a SHA-256 of the secret is stored; the secret is shown once."""

    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=12, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    permissions = models.JSONField(_("permissions"), default=list)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        from django.utils import timezone

        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())

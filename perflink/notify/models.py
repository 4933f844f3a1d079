"""In-app notifications: one row per recipient, read or not. Later channels (mail, robots, webhooks) deliver
the same rows; the inbox stays the record of what each person was told."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from perflink.core.models import TenantOwned
from perflink.notify.choices import Kind


class Notification(TenantOwned):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recipient"), on_delete=models.CASCADE, related_name="+"
    )
    # A Kind value. Not `choices=`: a new kind of notification should not need a migration.
    kind = models.CharField(_("notification kind"), max_length=60)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("message"), blank=True)
    url = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("sent"), auto_now_add=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "recipient", "read_at"])]
        verbose_name = _("notification")

    def __str__(self) -> str:
        return self.title

    @property
    def kind_label(self) -> str:
        return str(Kind(self.kind).label) if self.kind in Kind.values else self.kind

    @property
    def link(self) -> str:
        """The url if it is a path inside Perflink; anything else (another site, ``javascript:``) is not linked."""
        return self.url if self.url.startswith("/") and not self.url.startswith("//") else ""

    @property
    def is_unread(self) -> bool:
        return self.read_at is None

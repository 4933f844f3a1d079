"""In-app notifications (one row per recipient, read or not), the channels that carry events further (e-mail
lists, WeCom/DingTalk group robots, outgoing webhooks) and the delivery log. The inbox stays the record of what
each person was told; deliveries record what left Perflink, when, and how the receiver answered."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from perflink.core.fields import EncryptedTextField
from perflink.core.models import TenantOwned
from perflink.notify.choices import ChannelKind, DeliveryStatus, Kind


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


class Channel(TenantOwned):
    """Where a tenant's notifications go besides the inbox: an e-mail list, a WeCom or DingTalk group robot, or an
    outgoing webhook, for the events it subscribes to.

    `target` (addresses or the URL, whose query holds the robot's token) and `secret` (DingTalk's signing secret,
    the webhook's HMAC key) are encrypted at rest and never shown back: pages show `target_hint` and whether a
    secret is set."""

    kind = models.CharField(_("channel kind"), max_length=10, choices=ChannelKind.choices)
    name = models.CharField(_("name"), max_length=80)
    target = EncryptedTextField(_("target"))
    target_hint = models.CharField(_("target"), max_length=200, blank=True)
    secret = EncryptedTextField(_("secret"), blank=True)
    events = models.JSONField(_("events"), default=list, blank=True)  # Kind values
    enabled = models.BooleanField(_("enabled"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="notify_channel_unique_name")]
        verbose_name = _("notification channel")

    def __str__(self) -> str:
        return self.name

    @property
    def has_secret(self) -> bool:
        return bool(self.secret)

    def subscribes_to(self, event: str) -> bool:
        return self.enabled and event in (self.events or [])


class OutboundEvent(TenantOwned):
    """One announced event (a demand raised, results published…): what every channel and e-mail is sent.

    `uid` is the id receivers see (the webhook envelope's `id`, the `X-Perflink-Delivery` header) and stays the
    same across retries, so a receiver can drop a repeat."""

    uid = models.UUIDField(_("event id"), default=uuid.uuid4, unique=True, editable=False)
    event = models.CharField(_("event"), max_length=60)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("message"), blank=True)
    url = models.CharField(_("link"), max_length=300, blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event} {self.uid}"


class Delivery(TenantOwned):
    """One event to one channel (or one person's e-mail), with its attempts: the delivery log.

    Pending rows are sent after the commit that queued them; a failure is tried again after BACKOFF (1 min, 5 min,
    30 min, 2 h) and is `failed` after the last attempt."""

    event = models.ForeignKey(OutboundEvent, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.ForeignKey(
        Channel, verbose_name=_("channel"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(_("channel kind"), max_length=10, choices=ChannelKind.choices)
    # What it went to, kept when the channel is deleted: the channel's name, or the person's masked address.
    target_label = models.CharField(_("to"), max_length=200)
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    response_code = models.PositiveSmallIntegerField(_("response code"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)  # an attempt's lease, so two never overlap
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["tenant", "channel", "status"]),
        ]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")

    def __str__(self) -> str:
        return f"{self.event_id} → {self.target_label}: {self.status}"

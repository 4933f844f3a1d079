"""Reads of notifications: a user's inbox and unread count, the tenant's channels and the delivery log."""

from __future__ import annotations

from django.db.models import QuerySet

from perflink.accounts.models import User
from perflink.core.errors import NotFound
from perflink.notify.models import Channel, Delivery, Notification


def inbox(user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=user).order_by("-created_at", "-pk")


def unread_count(user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def channels() -> QuerySet[Channel]:
    return Channel.objects.order_by("name", "pk")


def get_channel(channel_id: int | str | None) -> Channel:
    """The tenant's channel; a missing one and another tenant's answer alike (NotFound)."""
    channel = Channel.objects.filter(pk=channel_id).first() if str(channel_id or "").isdigit() else None
    if channel is None:
        raise NotFound("channel not found")
    return channel


def delivery_log(*, channel: Channel | None = None, status: str = "") -> QuerySet[Delivery]:
    rows = Delivery.objects.select_related("event", "channel").order_by("-created_at", "-pk")
    if channel is not None:
        rows = rows.filter(channel=channel)
    if status:
        rows = rows.filter(status=status)
    return rows

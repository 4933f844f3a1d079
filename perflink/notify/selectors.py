"""Reads of the inbox: a user's notifications, newest first, and how many are unread."""

from __future__ import annotations

from django.db.models import QuerySet

from perflink.accounts.models import User
from perflink.notify.models import Notification


def inbox(user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=user).order_by("-created_at", "-pk")


def unread_count(user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()

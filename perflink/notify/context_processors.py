"""The header bell's unread count, on every page of a logged-in user."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from django.http import HttpRequest

from perflink.core.context import current_tenant
from perflink.notify.selectors import unread_count


def inbox(request: HttpRequest) -> dict[str, Any]:
    """``unread_count`` as a cached callable: the template engine calls it, so the one COUNT query runs only
    when a template reads the count (the layout's bell, the inbox), and once however often it is read."""
    user = getattr(request, "user", None)
    tenant = current_tenant()
    if user is None or not user.is_authenticated or tenant is None or user.tenant_id != tenant.pk:
        return {}
    count: Callable[[], int] = cache(lambda: unread_count(user))
    return {"unread_count": count}

"""Writes of the inbox: sending notifications and marking them read.

`do_notify` writes the in-app rows inside the caller's transaction, so a notification exists exactly when the
change it announces does. The channels to come (mail, WeCom/DingTalk robots, webhooks) hook in here, after
the rows, through `transaction.on_commit`.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from perflink.accounts.models import User
from perflink.audit.actions import record_event
from perflink.core.context import Actor, current_tenant
from perflink.core.errors import TenantScopeError
from perflink.notify.models import Notification


def do_notify(
    recipients: Iterable[User], *, kind: str, title: str, body: str, url: str = "", actor: Actor
) -> int:
    """One unread notification per distinct recipient; returns how many were written."""
    tenant = current_tenant()
    if tenant is None:
        raise TenantScopeError("notifications sent without a tenant")
    people = list({user.pk: user for user in recipients}.values())
    if not people:
        return 0
    for user in people:
        # bulk_create skips TenantOwned.save(), so the check it makes is made here.
        if user.tenant_id != tenant.pk:
            raise TenantScopeError(
                f"user {user.pk} of tenant {user.tenant_id} notified inside tenant {tenant.pk}"
            )
    with transaction.atomic(savepoint=False):
        Notification.objects.bulk_create(
            [
                Notification(
                    tenant=tenant, recipient=user, kind=str(kind), title=title[:200], body=body, url=url[:300]
                )
                for user in people
            ]
        )
        record_event(
            "notify.send", None, after={"kind": str(kind), "count": len(people), "title": title[:200]}
        )
    return len(people)


def do_mark_read(user: User, notification_ids: Iterable[int] | None, *, actor: Actor) -> int:
    """Mark the user's own unread notifications read: the given ones, or all with ``None``.

    Ids of other people's notifications are ignored, not refused: each person only ever touches their own inbox.
    Not audited: reading one's inbox is personal state, like a session, not a change to the tenant's data.
    """
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if notification_ids is not None:
        unread = unread.filter(pk__in=list(notification_ids))
    with transaction.atomic():
        return unread.update(read_at=timezone.now())

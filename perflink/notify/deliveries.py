"""The delivery queue: attempts, retries with backoff, and the log they leave.

A delivery is queued inside the transaction of the change it announces and attempted after that commit, inline
by default (or by a Celery worker, see `perflink.notify.tasks`). A failed attempt is tried again after BACKOFF;
`perflink notify deliver` (cron, or a Celery beat) attempts whatever is due. Each attempt takes a short lease on
the row, so two workers never send the same delivery at once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from perflink.core.context import Actor, current_actor, tenant_context, unscoped
from perflink.notify import channels
from perflink.notify.channels import Outcome
from perflink.notify.choices import ChannelKind, DeliveryStatus
from perflink.notify.models import Delivery

log = logging.getLogger(__name__)

# Seconds to wait after the 1st, 2nd, 3rd and 4th failed attempt; the 5th failure is final.
BACKOFF = (60, 5 * 60, 30 * 60, 2 * 60 * 60)
MAX_ATTEMPTS = len(BACKOFF) + 1
LEASE = timedelta(minutes=2)
OPEN = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)
DELIVERER = Actor("system", None, "notify")


def next_delay(attempts: int) -> timedelta | None:
    """The wait after `attempts` failed attempts, or None when that was the last one."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return timedelta(seconds=BACKOFF[attempts - 1])


def attempt(delivery_id: int, now: datetime | None = None) -> Delivery | None:
    """One attempt of one delivery (of the current tenant), if it is still open and nobody else holds it."""
    now = now or timezone.now()
    claimed = (
        Delivery.objects.filter(pk=delivery_id, status__in=OPEN)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(locked_until=now + LEASE)
    )
    if not claimed:
        return None
    delivery = Delivery.objects.select_related("event__tenant", "channel", "recipient").get(pk=delivery_id)
    try:
        outcome = _send(delivery)
    except Exception as exc:  # a bug in a sender must not leave the row leased and silent
        log.exception("delivery %s crashed", delivery.pk)
        outcome = Outcome(False, error=f"{type(exc).__name__}: {exc}"[: channels.ERROR_CHARS])
    _record(delivery, outcome, timezone.now())
    return delivery


def _send(delivery: Delivery) -> Outcome:
    if delivery.recipient_id is not None:
        email = delivery.recipient.email if delivery.recipient else ""
        if not email:
            return Outcome(False, error="the person has no e-mail address", retryable=False)
        return channels.send_email([email], delivery.event)
    if delivery.channel is None:
        return Outcome(False, error="the channel was deleted", retryable=False)
    return channels.send(delivery.channel, delivery.event)


def _record(delivery: Delivery, outcome: Outcome, now: datetime) -> None:
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.response_code = outcome.response_code
    delivery.locked_until = None
    if outcome.ok:
        delivery.status = DeliveryStatus.SUCCEEDED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
        delivery.error = ""
    else:
        delay = next_delay(delivery.attempts) if outcome.retryable else None
        delivery.error = outcome.error
        if delay is None:
            delivery.status = DeliveryStatus.FAILED
            delivery.next_attempt_at = None
        else:
            delivery.status = DeliveryStatus.RETRYING
            delivery.next_attempt_at = now + delay
    # The log row of an attempt: not a domain change, so not audited (the queueing action was).
    with transaction.atomic():
        delivery.save(
            update_fields=[
                "attempts",
                "last_attempt_at",
                "response_code",
                "locked_until",
                "status",
                "delivered_at",
                "next_attempt_at",
                "error",
            ]
        )


def attempt_now(delivery_ids: Iterable[int], tenant: Any) -> None:
    """The on-commit hook of an action that queued deliveries: the first attempt, inline, unless a Celery worker
    is configured to take it (PERFLINK_NOTIFY_CELERY). The tenant is the one that queued them: a commit may
    happen after the request's context is gone."""
    ids = list(delivery_ids)
    if not ids:
        return
    if getattr(settings, "PERFLINK_NOTIFY_CELERY", False):
        from perflink.notify.tasks import enqueue

        if enqueue(ids):
            return
    with tenant_context(tenant, current_actor() or DELIVERER):
        for pk in ids:
            try:
                attempt(pk)
            except Exception:  # the user's change is committed; a delivery problem stays in the log
                log.exception("delivery %s could not be attempted", pk)


def deliver_due(now: datetime | None = None, limit: int = 500) -> list[Delivery]:
    """Attempt every open delivery whose time has come, of every active tenant (cron, Celery beat)."""
    now = now or timezone.now()
    with unscoped("notify: find the deliveries that are due"):
        due = list(
            Delivery.objects.filter(status__in=OPEN, event__tenant__is_active=True)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .select_related("event__tenant")
            .order_by("next_attempt_at", "pk")[:limit]
        )
    done: list[Delivery] = []
    for row in due:
        with tenant_context(row.event.tenant, DELIVERER):
            result = attempt(row.pk, now)
        if result is not None:
            done.append(result)
    return done


def masked_email(address: str) -> str:
    """``wang.li@example.cn`` -> ``w***@example.cn``: enough to tell people apart in the log."""
    name, _, domain = address.partition("@")
    return f"{name[:1]}***@{domain}" if domain else "***"


def kind_of(delivery: Delivery) -> str:
    return str(ChannelKind(delivery.kind).label) if delivery.kind in ChannelKind.values else delivery.kind

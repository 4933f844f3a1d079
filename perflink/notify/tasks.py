"""Celery entry points for deliveries, used when a worker is configured (PERFLINK_NOTIFY_CELERY and Celery
installed). Without Celery, deliveries are attempted inline after the commit, and `perflink notify deliver`
from cron takes the retries: the same functions either way."""

from __future__ import annotations

import logging
from typing import Any

from perflink.core.context import tenant_context, unscoped
from perflink.notify import deliveries
from perflink.notify.models import Delivery

log = logging.getLogger(__name__)


def attempt_ids(ids: list[int]) -> int:
    """Attempt these deliveries (of any tenant), each in its tenant's context; returns how many ran."""
    with unscoped("notify: a worker attempts queued deliveries"):
        rows = list(Delivery.objects.filter(pk__in=ids).select_related("event__tenant"))
    ran = 0
    for row in rows:
        with tenant_context(row.event.tenant, deliveries.DELIVERER):
            ran += deliveries.attempt(row.pk) is not None
    return ran


def deliver_due() -> int:
    return len(deliveries.deliver_due())


try:  # Celery is optional: the base install runs everything inline.
    from celery import shared_task  # type: ignore[import-not-found, unused-ignore]
except ImportError:  # pragma: no cover - depends on the installation
    shared_task = None

if shared_task is not None:  # pragma: no cover - needs a Celery installation
    attempt_task: Any = shared_task(name="perflink.notify.attempt")(attempt_ids)
    deliver_due_task: Any = shared_task(name="perflink.notify.deliver_due")(deliver_due)
else:
    attempt_task = deliver_due_task = None


def enqueue(ids: list[int]) -> bool:
    """Hand the deliveries to a Celery worker; False (the caller then attempts them inline) without Celery."""
    if attempt_task is None:
        return False
    try:
        attempt_task.delay(ids)
    except Exception:  # a broker that is down must not lose the first attempt: do it inline instead
        log.exception("could not queue deliveries on Celery; attempting them inline")
        return False
    return True

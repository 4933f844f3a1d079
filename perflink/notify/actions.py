"""Writes of notifications: the inbox, the channels, and the events other modules announce.

`do_notify` writes the in-app rows inside the caller's transaction, so a notification exists exactly when the
change it announces does, and queues an e-mail to each recipient who has an address. `do_publish_event` does
that and queues a delivery to every channel subscribed to the event. Queued deliveries are attempted after the
commit (`transaction.on_commit`), never inside it: a rolled-back change sends nothing.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone, translation
from django.utils.translation import gettext

from perflink.accounts.choices import Role
from perflink.accounts.models import User
from perflink.audit.actions import record_event
from perflink.core.context import Actor, current_tenant
from perflink.core.errors import TenantScopeError, ValidationFailed
from perflink.notify import deliveries
from perflink.notify.channels import addresses
from perflink.notify.choices import TEST_EVENT, ChannelKind, DeliveryStatus, Kind
from perflink.notify.models import Channel, Delivery, Notification, OutboundEvent
from perflink.org.models import OrgUnit


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
        if getattr(settings, "PERFLINK_NOTIFY_EMAIL_USERS", True):
            mailed = [user for user in people if user.email and user.is_active]
            if mailed:
                event = _event(str(kind), title, body, url, {})
                _queue([_personal_delivery(event, user) for user in mailed])
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


# --- events other modules announce ----------------------------------------------------------------------------------


def do_publish_event(
    event: str,
    *,
    title: str,
    body: str = "",
    url: str = "",
    users: Iterable[User] = (),
    units: Iterable[OrgUnit] = (),
    data: dict[str, Any] | None = None,
    actor: Actor,
) -> OutboundEvent | None:
    """Announce an event: an inbox notification (and e-mail) for the given users and for the unit heads whose
    scope holds one of the given units, and a delivery to every enabled channel subscribed to the event.

    Call it inside the action's transaction, after the change: everything it writes commits or rolls back with
    the change, and nothing is sent before the commit. `data` (JSON values) goes into the webhook envelope.
    Returns the queued event, or None when no channel subscribes to it."""
    if event not in Kind.values:
        raise ValueError(f"unknown event {event!r}: add it to perflink.notify.choices.Kind")
    tenant = current_tenant()
    if tenant is None:
        raise TenantScopeError("event published without a tenant")
    with transaction.atomic(savepoint=False):
        people = [*users, *heads_of_units(units)]
        if people:
            do_notify(people, kind=event, title=title, body=body, url=url, actor=actor)
        subscribed = [c for c in Channel.objects.filter(enabled=True) if c.subscribes_to(event)]
        if not subscribed:
            return None
        outbound = _event(event, title, body, url, data or {})
        _queue([_channel_delivery(outbound, channel) for channel in subscribed])
        record_event(
            "notify.publish",
            outbound,
            after={"event": event, "title": title[:200], "channels": [c.name for c in subscribed]},
        )
    return outbound


def heads_of_units(units: Iterable[OrgUnit]) -> list[User]:
    """Active unit heads whose data scope (their unit and below) holds one of the units."""
    paths = [unit.path for unit in units]
    if not paths:
        return []
    heads = User.objects.filter(role=Role.UNIT_HEAD, is_active=True, scope_unit__isnull=False)
    covered = OrgUnit.objects.filter(path__in=paths, path__startswith=OuterRef("scope_unit__path"))
    return list(heads.filter(Exists(covered)).order_by("username"))


def _event(event: str, title: str, body: str, url: str, data: dict[str, Any]) -> OutboundEvent:
    return OutboundEvent.objects.create(event=event, title=title[:200], body=body, url=url[:300], data=data)


def _channel_delivery(event: OutboundEvent, channel: Channel) -> Delivery:
    return Delivery(
        tenant=event.tenant,
        event=event,
        channel=channel,
        kind=channel.kind,
        target_label=channel.name,
        next_attempt_at=timezone.now(),
    )


def _personal_delivery(event: OutboundEvent, user: User) -> Delivery:
    return Delivery(
        tenant=event.tenant,
        event=event,
        recipient=user,
        kind=ChannelKind.EMAIL,
        target_label=deliveries.masked_email(user.email),
        next_attempt_at=timezone.now(),
    )


def _queue(rows: list[Delivery]) -> list[int]:
    """Write the deliveries and attempt them once the surrounding transaction commits."""
    created = Delivery.objects.bulk_create(rows)
    ids, tenant = [row.pk for row in created], current_tenant()
    transaction.on_commit(lambda: deliveries.attempt_now(ids, tenant))
    return ids


# --- channels ---------------------------------------------------------------------------------------------------------


def _clean_channel(kind: str, name: str, target: str, events: Iterable[str]) -> tuple[str, str, list[str]]:
    if kind not in ChannelKind.values:
        raise ValidationFailed(gettext("Unknown channel kind."), field="kind")
    name = name.strip()
    if not name:
        raise ValidationFailed(gettext("A channel needs a name."), field="name")
    picked = sorted(set(events))
    unknown = [e for e in picked if e not in Kind.values]
    if unknown:
        raise ValidationFailed(
            gettext("Unknown events: %(events)s") % {"events": ", ".join(unknown)}, field="events"
        )
    return name[:80], target.strip(), picked


def _clean_target(kind: str, target: str) -> tuple[str, str]:
    """The target as stored, and the hint shown instead of it: e-mail addresses as they are, a URL as its scheme
    and host only (the path and query of a robot URL hold its token)."""
    if kind == ChannelKind.EMAIL:
        found = addresses(target)
        if not found:
            raise ValidationFailed(gettext("Give at least one e-mail address."), field="target")
        for address in found:
            try:
                validate_email(address)
            except ValidationError as exc:
                raise ValidationFailed(
                    gettext("Not an e-mail address: %(address)s") % {"address": address}, field="target"
                ) from exc
        joined = ", ".join(found)
        return joined, joined[:200]
    parts = urllib.parse.urlsplit(target)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed(
            gettext("The URL must start with http:// or https:// and name a host."), field="target"
        )
    if any(ch in target for ch in "\r\n\0 "):
        raise ValidationFailed(gettext("The URL may not contain spaces or line breaks."), field="target")
    return target, f"{parts.scheme}://{parts.netloc}/…"[:200]


def _snapshot(channel: Channel) -> dict[str, Any]:
    """What the audit trail keeps of a channel: never the target or the secret themselves."""
    return {
        "kind": channel.kind,
        "name": channel.name,
        "target": channel.target_hint,
        "secret": "***" if channel.secret else "",
        "events": list(channel.events),
        "enabled": channel.enabled,
    }


def do_create_channel(
    *,
    kind: str,
    name: str,
    target: str,
    secret: str = "",
    events: Iterable[str] = (),
    enabled: bool = True,
    actor: Actor,
) -> Channel:
    name, target, picked = _clean_channel(kind, name, target, events)
    stored, hint = _clean_target(kind, target)
    if kind == ChannelKind.WEBHOOK and not secret.strip():
        raise ValidationFailed(gettext("A webhook needs a signing secret."), field="secret")
    with transaction.atomic():
        if Channel.objects.filter(name=name).exists():
            raise ValidationFailed(gettext("A channel of that name exists."), field="name")
        channel = Channel.objects.create(
            kind=kind,
            name=name,
            target=stored,
            target_hint=hint,
            secret=secret.strip() if kind in (ChannelKind.DINGTALK, ChannelKind.WEBHOOK) else "",
            events=picked,
            enabled=enabled,
        )
        record_event("notify.channel.create", channel, after=_snapshot(channel))
    return channel


def do_update_channel(
    channel: Channel,
    *,
    name: str,
    target: str = "",
    secret: str = "",
    clear_secret: bool = False,
    events: Iterable[str] = (),
    enabled: bool = True,
    actor: Actor,
) -> Channel:
    """Change a channel. A blank target or secret keeps the stored one (they are never shown back to edit)."""
    name, target, picked = _clean_channel(channel.kind, name, target, events)
    with transaction.atomic():
        channel = Channel.objects.select_for_update().get(pk=channel.pk)
        before = _snapshot(channel)
        if Channel.objects.filter(name=name).exclude(pk=channel.pk).exists():
            raise ValidationFailed(gettext("A channel of that name exists."), field="name")
        if target:
            channel.target, channel.target_hint = _clean_target(channel.kind, target)
        if channel.kind in (ChannelKind.DINGTALK, ChannelKind.WEBHOOK):
            if secret.strip():
                channel.secret = secret.strip()
            elif clear_secret:
                if channel.kind == ChannelKind.WEBHOOK:
                    raise ValidationFailed(gettext("A webhook needs a signing secret."), field="secret")
                channel.secret = ""
        channel.name, channel.events, channel.enabled = name, picked, enabled
        channel.save()
        record_event("notify.channel.update", channel, before=before, after=_snapshot(channel))
    return channel


def do_delete_channel(channel: Channel, *, actor: Actor) -> None:
    """Delete a channel; its open deliveries fail, and the log keeps its name."""
    with transaction.atomic():
        before = _snapshot(channel)
        Delivery.objects.filter(channel=channel, status__in=deliveries.OPEN).update(
            status=DeliveryStatus.FAILED, next_attempt_at=None, error="the channel was deleted"
        )
        record_event("notify.channel.delete", channel, before=before)
        channel.delete()


def do_send_test_message(channel: Channel, *, actor: Actor) -> Delivery:
    """Queue a test message to this one channel (whatever it subscribes to); it is sent after the commit."""
    with transaction.atomic():
        # Written in the installation's language: the test message is read in the group, not by the sender.
        with translation.override(settings.LANGUAGE_CODE):
            title = gettext("Perflink test message")
            body = gettext("If you can read this, the channel “%(name)s” works.") % {"name": channel.name}
        event = _event(TEST_EVENT, title, body, "/inbox/", {"channel": channel.name})
        delivery = _channel_delivery(event, channel)
        _queue([delivery])
        record_event("notify.channel.test", channel, after={"event": str(event.uid)})
    return delivery


def do_retry_delivery(delivery: Delivery, *, actor: Actor) -> Delivery:
    """Try a failed delivery again now, with a fresh run of the backoff schedule."""
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().get(pk=delivery.pk)
        if delivery.status != DeliveryStatus.FAILED:
            raise ValidationFailed(gettext("Only a failed delivery can be retried."), field="delivery")
        if delivery.channel_id is None and delivery.recipient_id is None:
            raise ValidationFailed(gettext("The channel of this delivery was deleted."), field="delivery")
        delivery.status, delivery.attempts = DeliveryStatus.PENDING, 0
        delivery.next_attempt_at, delivery.locked_until = timezone.now(), None
        delivery.save(update_fields=["status", "attempts", "next_attempt_at", "locked_until"])
        record_event("notify.delivery.retry", delivery, after={"target": delivery.target_label})
        tenant = current_tenant()
        transaction.on_commit(lambda: deliveries.attempt_now([delivery.pk], tenant))
    return delivery

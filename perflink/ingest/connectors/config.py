"""Connector settings: checked when saved, so a run never meets a configuration it cannot follow."""

from __future__ import annotations

import re
import urllib.parse
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from perflink.audit.actions import record_event
from perflink.core.context import Actor
from perflink.core.errors import Conflict, ValidationFailed
from perflink.ingest.choices import PullPagination
from perflink.ingest.connectors.fetch import BACKOFF_CAP
from perflink.ingest.kinds import EXTERNAL_ID, KINDS, MASTER_KINDS, KindSpec
from perflink.ingest.models import PullConnector, SourceSystem
from perflink.ingest.push import MAX_RECORDS

CONFIG_FIELDS = (
    "name",
    "source_system",
    "kind",
    "url",
    "auth_header_name",
    "auth_header_value",
    "pagination",
    "page_param",
    "first_page",
    "size_param",
    "page_size",
    "records_path",
    "next_cursor_path",
    "cursor_field",
    "cursor_param",
    "cursor_value",
    "cursor_sorted",
    "field_map",
    "interval_minutes",
    "enabled",
    "max_retries",
    "backoff_seconds",
    "timeout_seconds",
)
HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")


def connector_spec(kind: str) -> KindSpec:
    spec = KINDS.get(kind) or MASTER_KINDS.get(kind)
    if spec is None:
        raise ValidationFailed(
            f"unknown record kind {kind!r}; one of {', '.join([*KINDS, *MASTER_KINDS])}", field="kind"
        )
    return spec


def _check_config(c: PullConnector) -> None:
    """Refuse a configuration that could not run, naming the field."""
    if not c.name.strip():
        raise ValidationFailed("a connector needs a name", field="name")
    spec = connector_spec(c.kind)
    check_url(c.url)
    if c.pagination not in PullPagination.values:
        raise ValidationFailed(
            f"pagination must be one of {', '.join(PullPagination.values)}", field="pagination"
        )
    if c.pagination != PullPagination.NONE and not c.page_param:
        raise ValidationFailed(f"{c.pagination} pagination needs page_param", field="page_param")
    if c.pagination == PullPagination.CURSOR and not c.next_cursor_path:
        raise ValidationFailed("cursor pagination needs next_cursor_path", field="next_cursor_path")
    if not 1 <= c.page_size <= MAX_RECORDS:
        raise ValidationFailed(f"page_size must be between 1 and {MAX_RECORDS}", field="page_size")
    if bool(c.cursor_field) != bool(c.cursor_param):
        raise ValidationFailed(
            "cursor_field (the record field to track) and cursor_param (the query parameter to send it "
            "in) go together",
            field="cursor_param" if c.cursor_field else "cursor_field",
        )
    if c.auth_header_name and not HEADER_NAME.match(c.auth_header_name):
        raise ValidationFailed("not a valid HTTP header name", field="auth_header_name")
    if any(ch in (c.auth_header_value or "") for ch in "\r\n\0"):
        raise ValidationFailed("the header value may not contain line breaks", field="auth_header_value")
    _check_field_map(c.field_map, spec)
    if not 0 <= c.max_retries <= 10:
        raise ValidationFailed("max_retries must be between 0 and 10", field="max_retries")
    if not 0 <= c.backoff_seconds <= BACKOFF_CAP:
        raise ValidationFailed(
            f"backoff_seconds must be between 0 and {BACKOFF_CAP:g}", field="backoff_seconds"
        )
    if not 0.05 <= c.timeout_seconds <= 300:
        raise ValidationFailed("timeout_seconds must be between 0.05 and 300", field="timeout_seconds")
    if len(c.cursor_value) > 200:
        raise ValidationFailed("the cursor may be at most 200 characters", field="cursor_value")


def check_url(url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValidationFailed("the URL must start with http:// or https:// and name a host", field="url")
    if parts.username or parts.password:
        raise ValidationFailed(
            "put credentials in the auth header, not in the URL (URLs are shown and logged)", field="url"
        )
    if parts.fragment:
        raise ValidationFailed("the URL may not have a #fragment", field="url")


def _check_field_map(field_map: Any, spec: KindSpec) -> None:
    if not isinstance(field_map, dict):
        raise ValidationFailed("field_map must map remote field names to record fields", field="field_map")
    canonical = {*spec.names, EXTERNAL_ID.name}
    seen: dict[str, str] = {}
    for remote, target in field_map.items():
        if not isinstance(remote, str) or not remote or not isinstance(target, str):
            raise ValidationFailed("field_map keys and values must be field names", field="field_map")
        if target not in canonical:
            raise ValidationFailed(
                f"field_map: {remote!r} -> {target!r}, but {spec.kind} has no field {target!r} "
                f"(fields: {', '.join(sorted(canonical))})",
                field="field_map",
            )
        if target in seen:
            raise ValidationFailed(
                f"field_map: both {seen[target]!r} and {remote!r} map to {target!r}", field="field_map"
            )
        seen[target] = remote


def public_config(c: PullConnector) -> dict[str, Any]:
    """The configuration for audit events and listings: the auth header's value never leaves."""
    out = {
        name: (c.source_system.code if name == "source_system" else getattr(c, name))
        for name in CONFIG_FIELDS
        if name != "auth_header_value"
    }
    out["auth_header_value"] = "***" if c.auth_header_value else ""
    return out


def _schedule(c: PullConnector, now: datetime) -> datetime | None:
    if not c.enabled or not c.interval_minutes:
        return None
    if c.last_run_at is None:
        return now
    return c.last_run_at + timedelta(minutes=c.interval_minutes)


def do_create_connector(
    *, name: str, source_system: SourceSystem, kind: str, url: str, actor: Actor, **options: Any
) -> PullConnector:
    """Create a pull connector; when enabled with an interval, its first run is due at once."""
    unknown = set(options) - set(CONFIG_FIELDS)
    if unknown:
        raise ValidationFailed(
            f"unknown connector settings: {', '.join(sorted(unknown))}", field=min(unknown)
        )
    connector = PullConnector(name=name, source_system=source_system, kind=kind, url=url, **options)
    _check_config(connector)
    with transaction.atomic():
        if not SourceSystem.objects.filter(pk=source_system.pk).exists():
            raise ValidationFailed("unknown source system", field="source_system")
        if PullConnector.objects.filter(name=name).exists():
            raise Conflict(f"a connector named {name!r} already exists", field="name", code="name_taken")
        connector.next_run_at = _schedule(connector, timezone.now())
        connector.save()
        record_event("ingest.pull.connector.create", connector, after=public_config(connector))
    return connector


def do_update_connector(connector: PullConnector, *, changes: dict[str, Any], actor: Actor) -> PullConnector:
    """Change a connector's settings. Setting `cursor_value` to "" makes the next run fetch everything."""
    unknown = set(changes) - set(CONFIG_FIELDS)
    if unknown:
        raise ValidationFailed(f"cannot change {', '.join(sorted(unknown))}", field=min(unknown))
    with transaction.atomic():
        before = public_config(connector)
        for key, value in changes.items():
            setattr(connector, key, value)
        _check_config(connector)
        if (
            "source_system" in changes
            and not SourceSystem.objects.filter(pk=connector.source_system.pk).exists()
        ):
            raise ValidationFailed("unknown source system", field="source_system")
        if (
            "name" in changes
            and PullConnector.objects.filter(name=connector.name).exclude(pk=connector.pk).exists()
        ):
            raise Conflict(
                f"a connector named {connector.name!r} already exists", field="name", code="name_taken"
            )
        connector.next_run_at = _schedule(connector, timezone.now())
        # Only the changed columns: a run in progress owns the cursor and the run bookkeeping.
        connector.save(update_fields=[*changes, "next_run_at"])
        after = public_config(connector)
        record_event(
            "ingest.pull.connector.update",
            connector,
            before={k: before[k] for k in changes},
            after={k: after[k] for k in changes},
        )
    return connector


def do_queue_run(connector: PullConnector, *, actor: Actor) -> PullConnector:
    """Ask the scheduler to run a connector at its next check (a web "run now" that does not block)."""
    if not connector.enabled:
        raise Conflict(
            f"connector {connector.name!r} is disabled; enable it first", field="enabled", code="disabled"
        )
    with transaction.atomic():
        connector.next_run_at = timezone.now()
        connector.save(update_fields=["next_run_at"])
        record_event("ingest.pull.connector.queue", connector, after={"next_run_at": connector.next_run_at})
    return connector

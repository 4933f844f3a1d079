"""Running connectors: one run now (`run_connector`) or every due one (`run_due_connectors`).

Each page is stored in its own transaction together with the cursor's new position, so a run that
breaks half-way leaves pages 1..k stored and the cursor never past what was stored.
"""

from __future__ import annotations

import logging
import time
import urllib.request
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from perflink.audit.actions import record_event
from perflink.core.context import Actor, current_tenant, tenant_context, unscoped
from perflink.core.errors import Conflict, TenantScopeError
from perflink.ingest.actions import IngestRejected, do_ingest
from perflink.ingest.choices import Channel, PullStatus
from perflink.ingest.connectors.cursor import CursorTracker
from perflink.ingest.connectors.fetch import (
    Fetcher,
    FetchError,
    Page,
    Sleep,
    build_opener,
    iter_pages,
    map_record,
)
from perflink.ingest.kinds import KINDS, MASTER_KINDS
from perflink.ingest.models import PullConnector, PullRun
from perflink.ingest.push import records_frame
from perflink.ingest.roster import RosterRejected, sync_roster

log = logging.getLogger(__name__)

SCHEDULER = Actor(kind="system", id=None, label="scheduler")
LEASE = timedelta(hours=1)  # a run holds the connector this long past its last stored page
ERRORS_KEPT = 100


@dataclass
class _Outcome:
    status: str = PullStatus.SUCCEEDED
    error: str = ""
    errors: list[dict[str, Any]] = field(default_factory=list)


def run_connector(
    connector: PullConnector,
    *,
    actor: Actor,
    sleep: Sleep | None = None,
    opener: urllib.request.OpenerDirector | None = None,
) -> PullRun:
    """Run one connector now, inside its tenant's context. Returns the finished run.

    Raises Conflict when another run of the same connector holds it."""
    tenant = current_tenant()
    if tenant is None or tenant.pk != connector.tenant_id:
        raise TenantScopeError("run_connector() must run inside the connector's tenant context")
    started = timezone.now()
    claimed = (
        PullConnector.objects.filter(pk=connector.pk)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=started))
        .update(locked_until=started + LEASE)
    )
    if not claimed:
        raise Conflict(f"connector {connector.name!r} is already running", code="pull_running")
    connector.refresh_from_db()
    # A run still marked running lost its process (the lease had expired): say so.
    PullRun.objects.filter(connector=connector, status=PullStatus.RUNNING).update(
        status=PullStatus.FAILED, finished_at=started, error="interrupted: the process running it stopped"
    )
    run = PullRun.objects.create(
        connector=connector,
        started_at=started,
        triggered_by=actor.label[:150],
        cursor_before=connector.cursor_value,
        cursor_after=connector.cursor_value,
    )
    outcome = _Outcome()
    try:
        fetch = Fetcher(connector, run, opener or build_opener(), sleep or time.sleep)
        pages = iter_pages(connector, fetch)
        if connector.kind in MASTER_KINDS:
            _pull_roster(connector, run, pages, actor)
        else:
            _pull_records(connector, run, pages, actor)
    except FetchError as exc:
        outcome.status = PullStatus.PARTIAL if run.pages else PullStatus.FAILED
        outcome.error = str(exc)
    except _PageRejected as exc:
        outcome.status, outcome.error, outcome.errors = PullStatus.FAILED, exc.message, exc.errors
    except BaseException as exc:
        # A bug, or the process being stopped (Ctrl-C, SIGTERM): record the run and free the connector.
        outcome.status = PullStatus.PARTIAL if run.pages else PullStatus.FAILED
        if isinstance(exc, Exception):
            log.exception("pull connector %s (tenant %s) crashed", connector.name, connector.tenant_id)
            outcome.error = f"internal error: {type(exc).__name__}: {exc}"
        else:
            outcome.error = "interrupted: the process was stopped"
        try:
            _finish(connector, run, outcome)
        except Exception:
            log.exception("could not record the failed run of pull connector %s", connector.name)
        raise
    _finish(connector, run, outcome)
    return run


class _PageRejected(Exception):
    def __init__(self, message: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.message, self.errors = message, errors


def _describe(errors: list[dict[str, Any]], where: Callable[[int], str]) -> str:
    parts = [f"{where(e['row'])}, {e['column']} = {e['value']!r}: {e['reason']}" for e in errors[:3]]
    more = f"; … {len(errors) - 3} more" if len(errors) > 3 else ""
    return "; ".join(parts) + more


def _pull_records(c: PullConnector, run: PullRun, pages: Iterator[Page], actor: Actor) -> None:
    spec = KINDS[c.kind]
    cursor = CursorTracker(c.cursor_field, c.cursor_value, held=not c.cursor_sorted)
    ignored: set[str] = set(run.ignored_fields)
    for page in pages:
        frame, unknown = records_frame(spec, [map_record(r, c.field_map) for r in page.records])
        unknown = [name for name in unknown if name != c.cursor_field]
        try:
            with transaction.atomic():
                report = do_ingest(
                    spec,
                    [frame],
                    source=c.source_system,
                    channel=Channel.PULL,
                    actor=actor,
                    file_name=f"pull {c.name} page {page.number}",
                    ignored_columns=unknown,
                )
                # The cursor moves in the page's transaction: it is never ahead of what was stored.
                position = cursor.after_page(page.records, run)
                PullConnector.objects.filter(pk=c.pk).update(
                    cursor_value=position, locked_until=timezone.now() + LEASE
                )
                ignored.update(unknown)
                run.pages += 1
                run.records += report.total
                run.created += report.created
                run.updated += report.updated
                run.unchanged += report.unchanged
                run.batch_ids = [*run.batch_ids, report.batch_id]
                run.cursor_after = position
                run.ignored_fields = sorted(ignored)[:100]
                run.save()
        except IngestRejected as exc:
            rep = exc.report
            run.records += rep.total
            run.rejected += rep.rejected
            errors = [{"page": page.number, **e} for e in rep.errors[:ERRORS_KEPT]]
            raise _PageRejected(
                f"page {page.number} rejected: {rep.rejected} of {rep.total} records invalid, nothing "
                "from it was stored and the cursor stays before it. "
                + _describe(rep.errors, lambda row, n=page.number: f"page {n} record {row}"),
                errors,
            ) from exc
    if cursor.held:
        with transaction.atomic():
            position = cursor.at_end()
            PullConnector.objects.filter(pk=c.pk).update(cursor_value=position)
            run.cursor_after = position
            run.save(update_fields=["cursor_after"])


def _pull_roster(c: PullConnector, run: PullRun, pages: Iterator[Page], actor: Actor) -> None:
    """Units and employees: every page first, then one all-or-nothing sync with the cursor."""
    spec = MASTER_KINDS[c.kind]
    records: list[dict[str, Any]] = []
    starts: list[int] = []  # index of each page's first record, to name the page of an error
    numbers: list[int] = []
    for page in pages:
        starts.append(len(records))
        numbers.append(page.number)
        records += page.records
        PullConnector.objects.filter(pk=c.pk).update(locked_until=timezone.now() + LEASE)
    if not records:
        return
    cursor = CursorTracker(c.cursor_field, c.cursor_value)
    frame, unknown = records_frame(spec, [map_record(r, c.field_map) for r in records])
    unknown = [name for name in unknown if name != c.cursor_field]

    def where(row: int) -> str:
        i = bisect_right(starts, row) - 1
        return f"page {numbers[i]} record {row - starts[i]}"

    try:
        with transaction.atomic():
            report = sync_roster(c.kind, [frame], actor=actor)
            cursor.held = True  # the whole roster is stored at once, so the order does not matter
            cursor.after_page(records, run)
            position = cursor.at_end()
            PullConnector.objects.filter(pk=c.pk).update(cursor_value=position)
            run.pages = len(numbers)
            run.records = report.total
            run.created = report.created
            run.updated = report.updated + report.moved + report.exited
            run.unchanged = report.unchanged
            run.cursor_after = position
            run.ignored_fields = sorted(unknown)[:100]
            run.save()
    except RosterRejected as exc:
        rep = exc.report
        run.records, run.rejected = rep.total, rep.rejected
        errors = [
            {"page": numbers[bisect_right(starts, e["row"]) - 1], **e} for e in rep.errors[:ERRORS_KEPT]
        ]
        raise _PageRejected(
            f"roster rejected: {rep.rejected} of {rep.total} records invalid, nothing was changed. "
            + _describe(rep.errors, where),
            errors,
        ) from exc


def _finish(c: PullConnector, run: PullRun, outcome: _Outcome) -> None:
    now = timezone.now()
    with transaction.atomic():
        run.status = outcome.status
        run.error = outcome.error
        run.errors = outcome.errors
        run.finished_at = now
        run.save()
        # Read the schedule afresh: it may have been changed while the run was going.
        fresh = PullConnector.objects.select_for_update().get(pk=c.pk)
        PullConnector.objects.filter(pk=c.pk).update(
            last_run_at=run.started_at,
            next_run_at=(now + timedelta(minutes=fresh.interval_minutes))
            if fresh.enabled and fresh.interval_minutes
            else None,
            last_status=outcome.status,
            last_error=outcome.error[:2000],
            locked_until=None,
        )
        record_event(
            "ingest.pull.run",
            run,
            after={
                "connector": c.name,
                "kind": c.kind,
                "status": run.status,
                "pages": run.pages,
                "requests": run.requests,
                "records": run.records,
                "created": run.created,
                "updated": run.updated,
                "unchanged": run.unchanged,
                "rejected": run.rejected,
                "batches": run.batch_ids,
                "cursor_before": run.cursor_before,
                "cursor_after": run.cursor_after,
                "error": run.error[:500],
            },
        )
    c.refresh_from_db()


def run_due_connectors(
    now: datetime | None = None,
    *,
    sleep: Sleep | None = None,
    opener: urllib.request.OpenerDirector | None = None,
    report: Callable[[PullConnector, PullRun | None, str], None] | None = None,
) -> list[PullRun]:
    """Run every enabled connector whose next run is due, of every active tenant, one after another.

    For cron (`perflink pull --due`) or a scheduler loop. A connector that is already running is
    skipped; one that crashes is logged and does not stop the others."""
    now = now or timezone.now()
    with unscoped("scheduler: find the pull connectors that are due"):
        due = list(
            PullConnector.objects.filter(enabled=True, next_run_at__lte=now, tenant__is_active=True)
            .select_related("tenant")
            .order_by("next_run_at", "pk")
        )
    runs: list[PullRun] = []
    for candidate in due:
        with tenant_context(candidate.tenant, SCHEDULER):
            connector = PullConnector.objects.filter(pk=candidate.pk).first()
            if connector is None:
                continue
            try:
                run = run_connector(connector, actor=SCHEDULER, sleep=sleep, opener=opener)
            except Conflict:
                if report:
                    report(connector, None, "already running, skipped")
                continue
            except Exception:
                log.exception("scheduled pull of %s (tenant %s) crashed", connector.name, connector.tenant_id)
                if report:
                    report(connector, None, "crashed; see the log")
                continue
            runs.append(run)
            if report:
                report(connector, run, "")
    return runs

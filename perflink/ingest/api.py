"""API: push records, list batches, roll a batch back, and the record kinds' schemas."""

from __future__ import annotations

import hashlib
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Header, Router
from ninja.pagination import paginate
from ninja.responses import Status

from perflink.core.api import Pagination, errors, requires
from perflink.core.context import current_actor
from perflink.core.errors import Conflict, NotFound
from perflink.ingest.actions import (
    KIND_SYSTEM,
    IngestRejected,
    IngestReport,
    do_ingest,
    do_rollback_batch,
    kind_spec,
    source_system_for,
)
from perflink.ingest.choices import Channel
from perflink.ingest.connectors import do_create_connector, do_queue_run, do_update_connector, public_config
from perflink.ingest.kinds import KINDS, MASTER_KINDS
from perflink.ingest.models import Batch, IdempotencyRecord, PullConnector, PullRun
from perflink.ingest.plausibility import RULES
from perflink.ingest.push import records_frame
from perflink.ingest.roster import RosterRejected, sync_roster
from perflink.ingest.schemas import (
    BatchOut,
    ConnectorIn,
    ConnectorOut,
    ConnectorPatchIn,
    KindOut,
    PlausibilityRuleOut,
    PullRunOut,
    PushIn,
    PushOut,
    RejectedOut,
    RollbackOut,
)
from perflink.ingest.selectors import plausibility_overrides

router = Router(tags=["ingest"])


def _report_body(report: IngestReport, ignored: list[str]) -> dict[str, Any]:
    return {
        "batch_id": report.batch_id,
        "total": report.total,
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "rejected": report.rejected,
        "errors": [
            {"index": e["row"], "field": e["field"], "value": e["value"], "reason": e["reason"]}
            for e in report.errors
        ],
        "ignored_fields": ignored,
        "rules": report.rules,
        "warning_count": report.warning_count,
        "warnings": [
            {
                "index": w["row"],
                "field": w["field"],
                "value": w["value"],
                "reason": w["reason"],
                "rule": w["rule"],
            }
            for w in report.warnings
        ],
        "findings": report.findings,
        "rounded": report.rounded,
    }


@router.get(
    "/ingest/kinds", response={200: list[KindOut], **errors()}, summary="The record kinds and their fields"
)
@requires("ingest.push")
def list_kinds(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {
            "kind": s.kind,
            "label": s.label,
            "key": s.key,
            "fields": [
                {
                    "name": f.name,
                    "type": f.type,
                    "label": f.label,
                    "required": f.required,
                    "synonyms": list(f.synonyms),
                    "choices": list(f.choices),
                }
                for f in s.fields
            ],
        }
        for s in KINDS.values()
    ]


@router.get(
    "/ingest/rules",
    response={200: list[PlausibilityRuleOut], **errors()},
    summary="The plausibility rules and their severity for this tenant",
    description="Errors reject a record; warnings accept it and list it in the answer's `warnings`.",
)
@requires("ingest.push")
def list_plausibility_rules(request: HttpRequest) -> list[dict[str, Any]]:
    chosen = plausibility_overrides()
    return [
        {
            "code": r.code,
            "kind": r.kind,
            "type": r.type,
            "field": r.field,
            "other": r.other,
            "default_severity": r.severity,
            "severity": chosen.get(r.code, r.severity),
        }
        for rules in RULES.values()
        for r in rules
    ]


@router.get("/ingest/batches", response={200: list[BatchOut], **errors()}, summary="Import and push history")
@requires("ingest.view")
@paginate(Pagination)
def list_batches(request: HttpRequest) -> QuerySet[Batch]:
    return Batch.objects.select_related("source_system").order_by("-received_at", "-pk")


@router.get("/ingest/batches/{batch_id}", response={200: BatchOut, **errors(404)}, summary="Read a batch")
@requires("ingest.view")
def read_batch(request: HttpRequest, batch_id: int) -> Batch:
    batch = Batch.objects.select_related("source_system").filter(pk=batch_id).first()
    if batch is None:
        raise NotFound("batch not found")
    return batch


@router.post(
    "/ingest/batches/{batch_id}/rollback",
    response={200: RollbackOut, **errors(400, 404, 409)},
    summary="Roll a batch back",
)
@requires("ingest.manage")
def rollback_batch(request: HttpRequest, batch_id: int) -> dict[str, int]:
    batch = Batch.objects.filter(pk=batch_id).first()
    if batch is None:
        raise NotFound("batch not found")
    return do_rollback_batch(batch, actor=current_actor())


# --- pull connectors ------------------------------------------------------------------------------


def _connector(connector_id: int) -> PullConnector:
    connector = PullConnector.objects.select_related("source_system").filter(pk=connector_id).first()
    if connector is None:
        raise NotFound("connector not found")
    return connector


def _connector_out(c: PullConnector) -> dict[str, Any]:
    return {
        "id": c.pk,
        "config": public_config(c),
        "last_run_at": c.last_run_at,
        "next_run_at": c.next_run_at,
        "last_status": c.last_status,
        "last_error": c.last_error,
    }


@router.get("/ingest/connectors", response={200: list[ConnectorOut], **errors()}, summary="Pull connectors")
@requires("ingest.view")
def list_connectors(request: HttpRequest) -> list[dict[str, Any]]:
    return [_connector_out(c) for c in PullConnector.objects.select_related("source_system").order_by("name")]


@router.post(
    "/ingest/connectors",
    response={201: ConnectorOut, **errors(400, 404, 409)},
    summary="Create a pull connector",
)
@requires("ingest.manage")
def create_connector(request: HttpRequest, payload: ConnectorIn) -> Status:
    data = payload.model_dump()
    source = source_system_for(data["kind"] if data["kind"] in KIND_SYSTEM else "claim", data.pop("source"))
    connector = do_create_connector(
        name=data.pop("name"),
        source_system=source,
        kind=data.pop("kind"),
        url=data.pop("url"),
        actor=current_actor(),
        **data,
    )
    return Status(201, _connector_out(connector))


@router.get(
    "/ingest/connectors/{connector_id}",
    response={200: ConnectorOut, **errors(404)},
    summary="Read a connector",
)
@requires("ingest.view")
def read_connector(request: HttpRequest, connector_id: int) -> dict[str, Any]:
    return _connector_out(_connector(connector_id))


@router.patch(
    "/ingest/connectors/{connector_id}",
    response={200: ConnectorOut, **errors(400, 404, 409)},
    summary="Change a connector",
)
@requires("ingest.manage")
def update_connector(request: HttpRequest, connector_id: int, payload: ConnectorPatchIn) -> dict[str, Any]:
    connector = _connector(connector_id)
    changes = payload.model_dump(exclude_unset=True)
    connector = do_update_connector(connector, changes=changes, actor=current_actor())
    return _connector_out(connector)


@router.post(
    "/ingest/connectors/{connector_id}/run",
    response={202: ConnectorOut, **errors(400, 404, 409)},
    summary="Run a connector at the scheduler's next check",
    description="Queues the run (the scheduler, `perflink pull --loop` or cron with `--due`, performs it).",
)
@requires("ingest.manage")
def queue_connector_run(request: HttpRequest, connector_id: int) -> Status:
    connector = do_queue_run(_connector(connector_id), actor=current_actor())
    return Status(202, _connector_out(connector))


@router.get(
    "/ingest/connectors/{connector_id}/runs",
    response={200: list[PullRunOut], **errors(404)},
    summary="A connector's runs",
)
@requires("ingest.view")
@paginate(Pagination)
def list_connector_runs(request: HttpRequest, connector_id: int) -> QuerySet[PullRun]:
    return PullRun.objects.filter(connector=_connector(connector_id)).order_by("-started_at", "-pk")


# Declared last: `/ingest/{kind}` would otherwise shadow the fixed paths above.
@router.post(
    "/ingest/{kind}",
    response={200: PushOut, **errors(400, 404, 409), 422: RejectedOut},
    summary="Push records of one kind (upsert by source system and external id)",
    description=(
        "All-or-nothing by default: one invalid record and nothing is written (422 with every error). "
        "With `partial: true` the valid records are written and the others listed. An `Idempotency-Key` "
        "header makes a retried request return the first answer; the same key with a different body is 409."
    ),
)
@requires("ingest.push")
def push(
    request: HttpRequest, kind: str, payload: PushIn, idempotency_key: str | None = Header(None)
) -> Status:
    if kind in MASTER_KINDS:
        return _push_roster(request, kind, payload)
    spec = kind_spec(kind)
    body_hash = hashlib.sha256(request.body).hexdigest()
    key = (idempotency_key or "").strip()[:120]
    if key:
        seen = IdempotencyRecord.objects.filter(key=key).first()
        if seen is not None:
            if seen.request_hash != body_hash:
                raise Conflict(
                    "this Idempotency-Key was used with a different request body",
                    field="Idempotency-Key",
                    code="idempotency_conflict",
                )
            return Status(seen.status_code, seen.response)
    frame, ignored = records_frame(spec, payload.records)
    source = source_system_for(spec.kind, payload.source)
    try:
        with transaction.atomic():
            try:
                report = do_ingest(
                    spec,
                    [frame],
                    source=source,
                    channel=Channel.PUSH,
                    actor=current_actor(),
                    quarantine=payload.partial,
                    idempotency_key=key,
                    ignored_columns=ignored,
                )
                status, body = 200, _report_body(report, ignored)
            except IngestRejected as exc:
                status = 422
                body = {
                    "code": exc.code,
                    "message": exc.message,
                    "field": exc.field,
                    "report": _report_body(exc.report, ignored),
                }
            if key:
                IdempotencyRecord.objects.create(
                    key=key, request_hash=body_hash, status_code=status, response=body
                )
    except IntegrityError as exc:  # a concurrent request with the same key won the race
        raise Conflict(
            "a request with this Idempotency-Key is being processed; retry shortly",
            field="Idempotency-Key",
            code="idempotency_in_progress",
        ) from exc
    return Status(status, body)


def _push_roster(request: HttpRequest, kind: str, payload: PushIn) -> Status:
    """Org units or employees from the HR system: applied through the org actions, effective-dated."""
    spec = MASTER_KINDS[kind]
    frame, ignored = records_frame(spec, payload.records)
    try:
        report = sync_roster(kind, [frame], actor=current_actor())
    except RosterRejected as exc:
        body = exc.report.as_dict()
        return Status(422, {"code": "records_rejected", "message": str(exc), "field": None, "report": body})
    return Status(200, report.as_dict() | {"ignored_fields": ignored})

"""Ingestion: clean, validate and upsert records from the push API, files and pull connectors.

One transaction per delivery. By default it is all-or-nothing: one bad row and nothing is written
(the report still lists every error). With `quarantine=True` the valid rows are written and the
rejected ones are kept, with an error column, as a file to download. `dry_run=True` reports what
would happen and writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from perflink.audit.actions import record_event
from perflink.core.context import Actor, actor_context, current_tenant
from perflink.core.errors import Conflict, NotFound, ValidationFailed
from perflink.ingest.choices import BatchStatus, SystemKind
from perflink.ingest.cleaning import RULES, clean_frame
from perflink.ingest.kinds import KINDS, KindSpec
from perflink.ingest.models import Batch, IncidentUnit, PlausibilityOverride, RecordHistory, SourceSystem
from perflink.ingest.plausibility import OFF, RULES_BY_CODE, SEVERITIES, Checks, Rule, with_overrides
from perflink.ingest.push import records_frame
from perflink.ingest.refs import load_refs
from perflink.ingest.selectors import plausibility_overrides, usual_amounts
from perflink.ingest.store import UpsertCounts, model_for, upsert_frame

MAX_ERRORS_REPORTED = 1000
MAX_WARNINGS_REPORTED = 1000
MAX_WARNINGS_STORED = 200
KIND_SYSTEM = {
    "policy": SystemKind.POLICY,
    "claim": SystemKind.CLAIMS,
    "requisition": SystemKind.HR,
    "hire": SystemKind.HR,
    "training": SystemKind.HR,
    "exit": SystemKind.HR,
    "payment": SystemKind.FINANCE,
    "incident": SystemKind.ITOPS,
    "survey_response": SystemKind.SURVEY,
    "demand_evaluation": SystemKind.COLLAB,
}
DEFAULT_SYSTEMS = {
    SystemKind.POLICY: ("policy", "保单管理系统"),
    SystemKind.CLAIMS: ("claims", "理赔系统"),
    SystemKind.HR: ("hr", "人力资源系统"),
    SystemKind.FINANCE: ("finance", "财务系统"),
    SystemKind.ITOPS: ("itops", "IT运维平台"),
    SystemKind.SURVEY: ("survey", "满意度调研"),
    SystemKind.COLLAB: ("collab", "协同需求"),
}


class IngestRejected(ValidationFailed):
    """All-or-nothing delivery with errors: nothing was written. Carries the full report."""

    code = "records_rejected"

    def __init__(self, report: IngestReport) -> None:
        first = report.errors[0] if report.errors else {}
        where = f"{report.file_name}: " if report.file_name else ""
        super().__init__(
            f"{where}{report.rejected} of {report.total} rows rejected; nothing was written",
            field=first.get("column"),
        )
        self.report = report


@dataclass
class IngestReport:
    kind: str
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0
    # Plausibility warnings on accepted rows (row, column, field, value, reason, rule): the first 1,000.
    warnings: list[dict[str, Any]] = field(default_factory=list)
    warning_count: int = 0
    warned_rows: int = 0
    # plausibility rule code -> {"severity": "error" | "warning", "cells": how many it flagged}
    findings: dict[str, dict[str, Any]] = field(default_factory=dict)
    rounded: dict[str, int] = field(default_factory=dict)  # money field -> amounts rounded to the fen
    file_name: str = ""
    rules: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RULES, 0))
    ignored_columns: list[str] = field(default_factory=list)
    missing: dict[str, int] = field(default_factory=dict)  # field -> empty cells (for data health)
    batch_id: int | None = None
    dry_run: bool = False
    quarantined: bool = False
    written: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "total": self.total,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "error_count": self.error_count,
            "errors": self.errors,
            "warning_count": self.warning_count,
            "warned_rows": self.warned_rows,
            "warnings": self.warnings,
            "findings": self.findings,
            "rounded": self.rounded,
            "file": self.file_name,
            "rules": self.rules,
            "ignored_columns": self.ignored_columns,
            "batch_id": self.batch_id,
            "dry_run": self.dry_run,
            "quarantined": self.quarantined,
            "written": self.written,
        }


def kind_spec(kind: str) -> KindSpec:
    spec = KINDS.get(kind)
    if spec is None:
        raise NotFound(f"unknown record kind {kind!r}; one of {', '.join(KINDS)}", field="kind")
    return spec


def source_system_for(kind: str, code: str | None = None) -> SourceSystem:
    """The named source system, or the tenant's default one for the kind (created on first use)."""
    if code:
        system = SourceSystem.objects.filter(code=code).first()
        if system is None:
            raise NotFound(f"unknown source system {code!r}", field="source")
        return system
    system_kind = KIND_SYSTEM[kind]
    system = SourceSystem.objects.filter(kind=system_kind).order_by("pk").first()
    if system is None:
        default_code, name = DEFAULT_SYSTEMS[system_kind]
        system = SourceSystem.objects.create(code=default_code, name=name, kind=system_kind)
    return system


def do_ingest(
    spec: KindSpec,
    chunks: Iterable[pl.DataFrame],
    *,
    source: SourceSystem,
    channel: str,
    actor: Actor,
    headers: dict[str, str] | None = None,
    quarantine: bool = False,
    dry_run: bool = False,
    file_name: str = "",
    idempotency_key: str = "",
    ignored_columns: list[str] | None = None,
    progress: Callable[[IngestReport], None] | None = None,
) -> IngestReport:
    """Clean, validate and write raw chunks (String columns named by field, plus `_row`).

    Raises IngestRejected (nothing written) when any row fails and neither `quarantine` nor
    `dry_run` is set."""
    report = IngestReport(
        kind=spec.kind,
        dry_run=dry_run,
        quarantined=quarantine,
        ignored_columns=ignored_columns or [],
        file_name=Path(file_name).name,
    )
    rejected_frames: list[pl.DataFrame] = []
    tenant = current_tenant()
    now = timezone.now()
    checks = plausibility_checks(spec, now)
    with transaction.atomic():
        batch = Batch(
            source_system=source,
            kind=spec.kind,
            channel=channel,
            file_name=file_name[:255],
            created_by_label=actor.label[:150],
            received_at=now,
            idempotency_key=idempotency_key,
        )
        if not dry_run:
            batch.save()
        for raw in chunks:
            result = clean_frame(raw, spec, load_refs(raw, spec), headers=headers, checks=checks)
            report.total += result.total_rows
            _add_findings(report, result.warnings, result.findings, result.rounded)
            for name in spec.names:
                empty = (
                    int((raw[name].is_null() | (raw[name].str.strip_chars() == "")).sum())
                    if name in raw.columns
                    else raw.height
                )
                if empty:
                    report.missing[name] = report.missing.get(name, 0) + empty
            for rule, n in result.rules.items():
                report.rules[rule] = report.rules.get(rule, 0) + n
            if result.errors.height:
                report.error_count += result.errors.height
                report.rejected += result.error_rows
                room = MAX_ERRORS_REPORTED - len(report.errors)
                if room > 0:
                    report.errors += [
                        {
                            "row": r["_row"],
                            "column": r["column"],
                            "field": r["field"],
                            "value": r["value"],
                            "reason": r["reason"],
                        }
                        for r in result.errors.head(room).iter_rows(named=True)
                    ]
                if quarantine:
                    rejected_frames.append(_rejected_rows(raw, result.errors, headers or {}))
            stop_writing = dry_run or (report.rejected and not quarantine)
            counts, written = upsert_frame(
                spec,
                result.frame,
                tenant_id=tenant.pk,
                system_id=source.pk,
                batch_id=batch.pk or 0,
                received_at=now,
                write=not stop_writing,
            )
            _add(report, counts)
            if progress is not None:
                progress(report)
            if not stop_writing and spec.kind == "incident":
                _write_incident_units(result.frame, written, tenant.pk)
        if dry_run:
            return report
        if report.rejected and not quarantine:
            transaction.set_rollback(True)
            raise IngestRejected(report)
        batch.n_rows, batch.n_rejected = report.total, report.rejected
        batch.n_created, batch.n_updated, batch.n_unchanged = report.created, report.updated, report.unchanged
        batch.report = {
            "rules": report.rules,
            "errors": report.errors[:200],
            "error_count": report.error_count,
            "ignored_columns": report.ignored_columns,
            "missing": report.missing,
            "warnings": report.warnings[:MAX_WARNINGS_STORED],
            "warning_count": report.warning_count,
            "warned_rows": report.warned_rows,
            "findings": report.findings,
            "rounded": report.rounded,
        }
        if rejected_frames:
            batch.quarantine_path = str(
                _save_quarantine(tenant.slug, batch.pk, pl.concat(rejected_frames, how="diagonal_relaxed"))
            )
        batch.save()
        record_event(
            "ingest.batch.commit",
            batch,
            after={
                "kind": spec.kind,
                "channel": channel,
                "source": source.code,
                "file": file_name,
                "rows": report.total,
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "rejected": report.rejected,
                "warnings": report.warning_count,
                "rounded": sum(report.rounded.values()),
            },
        )
        if report.created or report.updated:
            _recalculate_after_commit(spec.kind, batch.pk, actor)
    report.batch_id = batch.pk
    report.written = True
    return report


def plausibility_checks(spec: KindSpec, now: datetime) -> Checks:
    """The kind's plausibility rules as the current tenant set them, at `now`, comparing amounts with the
    tenant's stored records."""

    def history(rule: Rule, keys: pl.DataFrame) -> pl.DataFrame:
        return usual_amounts(spec, rule, keys, now=now)

    return Checks(with_overrides(spec.kind, plausibility_overrides()), now, history)


def do_set_plausibility_rule(code: str, severity: str, *, actor: Actor) -> PlausibilityOverride | None:
    """Set how the current tenant treats one plausibility rule: "error", "warning" or "off". Choosing the
    rule's own severity removes the override. Audited; applies to deliveries from then on."""
    rule = RULES_BY_CODE.get(code)
    if rule is None:
        raise NotFound(f"unknown plausibility rule {code!r}", field="rule")
    if severity not in (*SEVERITIES, OFF):
        raise ValidationFailed(f"severity must be error, warning or off, not {severity!r}", field="severity")
    with transaction.atomic():
        current = PlausibilityOverride.objects.filter(rule=code).first()
        before = current.severity if current else rule.severity
        if severity == rule.severity:
            if current is not None:
                current.delete()
            override = None
        else:
            override = current or PlausibilityOverride(rule=code)
            override.severity = severity
            override.changed_by_label = actor.label[:150]
            override.save()
        if before != severity:
            record_event(
                "ingest.plausibility.set",
                ("ingest.PlausibilityRule", code, code),
                before={"severity": before},
                after={"severity": severity},
            )
    return override


def _add_findings(
    report: IngestReport,
    warnings: pl.DataFrame,
    findings: dict[str, dict[str, Any]],
    rounded: dict[str, int],
) -> None:
    """Fold one chunk's plausibility warnings, rule counts and fen roundings into the report."""
    for code, found in findings.items():
        seen = report.findings.setdefault(code, {"severity": found["severity"], "cells": 0})
        seen["cells"] += found["cells"]
    for name, n in rounded.items():
        report.rounded[name] = report.rounded.get(name, 0) + n
    report.warning_count += warnings.height
    report.warned_rows += warnings["_row"].n_unique() if warnings.height else 0
    room = MAX_WARNINGS_REPORTED - len(report.warnings)
    if room > 0:
        report.warnings += [
            {
                "row": r["_row"],
                "column": r["column"],
                "field": r["field"],
                "value": r["value"],
                "reason": r["reason"],
                "rule": r["rule"],
            }
            for r in warnings.head(room).iter_rows(named=True)
        ]


def do_push_records(kind: str, records: list[dict[str, Any]], *, actor: Actor) -> IngestReport:
    """Records given as objects (field -> value, as the push API takes them) in one push batch under the kind's
    default source system, by ``actor``: how Perflink's own modules hand records to the ingest (survey answers,
    demand evaluations), all-or-nothing like any push. Records sent again with their external id are versioned."""
    spec = KINDS[kind]
    frame, ignored = records_frame(spec, records)
    with actor_context(actor):
        return do_ingest(
            spec,
            [frame],
            source=source_system_for(kind),
            channel="push",
            actor=actor,
            ignored_columns=ignored,
        )


def _recalculate_after_commit(kind: str, batch_id: int, actor: Actor, ids: list[int] | None = None) -> None:
    """Once the records are committed, recalculate the periods whose runs read them (the metrics app decides
    which). Called explicitly, not through a signal, so the flow reads top to bottom."""
    if not getattr(settings, "PERFLINK_RECALCULATE_ON_INGEST", True):
        return
    tenant = current_tenant()

    def run() -> None:
        from perflink.core.context import tenant_context
        from perflink.metrics.actions import do_recalculate_changed

        with tenant_context(tenant, actor):
            changed = ids
            if changed is None:
                model = model_for(kind_spec(kind))
                changed = list(model.objects.filter(batch_id=batch_id).values_list("pk", flat=True))
            do_recalculate_changed({kind: changed}, actor=actor)

    transaction.on_commit(run)


def _add(report: IngestReport, counts: UpsertCounts) -> None:
    report.created += counts.created
    report.updated += counts.updated
    report.unchanged += counts.unchanged


def _write_incident_units(frame: pl.DataFrame, written: pl.DataFrame, tenant_id: int) -> None:
    if "affected_units_ids" not in frame.columns:
        return
    touched = written.filter(pl.col("action") != "unchanged").select("external_id", "id")
    pairs = (
        frame.select("external_id", "affected_units_ids")
        .join(touched, on="external_id")
        .explode("affected_units_ids")
        .drop_nulls("affected_units_ids")
        .unique(["id", "affected_units_ids"])
    )
    ids = touched["id"].to_list()
    if ids:
        IncidentUnit.objects.filter(incident_id__in=ids).delete()
    IncidentUnit.objects.bulk_create(
        [
            IncidentUnit(tenant_id=tenant_id, incident_id=i, unit_id=u)
            for i, u in pairs.select("id", "affected_units_ids").iter_rows()
        ],
        batch_size=5000,
    )


def _rejected_rows(raw: pl.DataFrame, errors: pl.DataFrame, headers: dict[str, str]) -> pl.DataFrame:
    """The rejected rows as the user sent them, with their row number and an error column."""
    why = errors.group_by("_row").agg(
        pl.format("{}: {}", pl.col("column"), pl.col("reason")).str.join("; ").alias("错误 (errors)")
    )
    rows = raw.join(why, on="_row", how="inner").sort("_row")
    rename = {c: headers.get(c, c) for c in rows.columns if c not in {"_row", "错误 (errors)"}}
    return rows.rename({"_row": "行号 (row)", **rename})


def quarantine_dir(tenant_slug: str) -> Path:
    path = Path(settings.VAR_DIR) / "quarantine" / tenant_slug
    path.mkdir(parents=True, exist_ok=True)
    return path


def _save_quarantine(tenant_slug: str, batch_id: int, frame: pl.DataFrame) -> Path:
    safe = _neutralise(frame)
    path = quarantine_dir(tenant_slug) / f"batch-{batch_id}-rejected.csv"
    with path.open("wb") as fh:
        fh.write("\ufeff".encode())
        safe.write_csv(fh)
    return path


def _neutralise(frame: pl.DataFrame) -> pl.DataFrame:
    """Cells that a spreadsheet would run as formulas get a leading quote."""
    risky = r"^[=+\-@\t\r]"
    return frame.with_columns(
        [
            pl.when(pl.col(c).str.contains(risky)).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
            for c in frame.columns
            if frame.schema[c] == pl.String
        ]
    )


# --- rollback ---------------------------------------------------------------------------------------


def do_rollback_batch(batch: Batch, *, actor: Actor) -> dict[str, int]:
    """Undo a committed batch: delete what it created, restore what it changed.

    Refused when a later batch has changed some of the same records (roll that one back first)."""
    if batch.status == BatchStatus.ROLLED_BACK:
        raise Conflict(f"batch #{batch.pk} is already rolled back", code="already_rolled_back")
    spec = kind_spec(batch.kind)
    model = model_for(spec)
    with transaction.atomic():
        later = (
            RecordHistory.objects.filter(previous_batch_id=batch.pk)
            .values_list("batch_id", flat=True)
            .distinct()
        )
        later = [b for b in later if Batch.objects.filter(pk=b, status=BatchStatus.COMMITTED).exists()]
        if later:
            raise Conflict(
                f"later batches {', '.join(f'#{b}' for b in sorted(later))} changed records of batch #{batch.pk}; "
                "roll those back first",
                code="later_batch_depends",
            )
        history = list(
            RecordHistory.objects.filter(batch=batch).values("record_id", "previous_batch_id", "data")
        )
        restored_ids = {h["record_id"] for h in history}
        touched = list(model.objects.filter(batch_id=batch.pk).values_list("pk", flat=True))
        created_qs = model.objects.filter(batch_id=batch.pk).exclude(pk__in=restored_ids)
        if spec.kind == "incident":
            IncidentUnit.objects.filter(incident_id__in=created_qs.values("pk")).delete()
        deleted = created_qs.count()
        created_qs.delete()
        for h in history:
            data = dict(h["data"])
            version = data.pop("version")
            model.objects.filter(pk=h["record_id"]).update(
                **_restore_values(model, data), version=version, batch_id=h["previous_batch_id"]
            )
        RecordHistory.objects.filter(batch=batch).delete()
        batch.status = BatchStatus.ROLLED_BACK
        batch.rolled_back_at = timezone.now()
        batch.rolled_back_by_label = actor.label[:150]
        batch.save(update_fields=["status", "rolled_back_at", "rolled_back_by_label"])
        record_event("ingest.batch.rollback", batch, after={"deleted": deleted, "restored": len(history)})
        _recalculate_after_commit(spec.kind, batch.pk, actor, ids=touched)
    return {"deleted": deleted, "restored": len(history)}


def _restore_values(model: Any, data: dict[str, Any]) -> dict[str, Any]:
    from django.utils.dateparse import parse_date, parse_datetime

    out: dict[str, Any] = {}
    for column, value in data.items():
        f = next(x for x in model._meta.concrete_fields if x.column == column)
        if value is not None and f.get_internal_type() == "DateTimeField":
            value = parse_datetime(str(value).replace(" ", "T"))
        elif value is not None and f.get_internal_type() == "DateField":
            value = parse_date(str(value))
        out[f.attname] = value
    return out


def chunked(frame: pl.DataFrame, size: int = 50_000) -> Iterator[pl.DataFrame]:
    yield from frame.iter_slices(size)

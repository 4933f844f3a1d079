"""Upsert through the ingestion path: created / updated / unchanged, atomicity, quarantine, rollback."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from perflink.core.context import SYSTEM, tenant_context
from perflink.ingest.actions import IngestRejected, do_ingest, do_rollback_batch, source_system_for
from perflink.ingest.kinds import KINDS
from perflink.ingest.models import Batch, ClaimRecord, RecordHistory
from tests.factories import World, make_employee


def _claims(world: World, n: int, *, start: int = 0, amount: str = "1,000.00") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "_row": list(range(2, n + 2)),
            "claim_no": [f"C{start + i:06d}" for i in range(n)],
            "line": ["车险"] * n,
            "handler": [world.staff.employee_no] * n,
            "unit": [world.hr.code] * n,
            "reported_at": ["2026/3/1 09:00"] * n,
            "approved_at": ["2026-03-02 10:00"] * n,
            "paid_at": ["2026年3月3日"] * n,
            "amount_claimed": [amount] * n,
            "satisfaction": ["满意"] * n,
        }
    )


def _push(world: World, frame: pl.DataFrame, **kw):
    spec = KINDS["claim"]
    return do_ingest(spec, [frame], source=source_system_for("claim"), channel="push", actor=SYSTEM, **kw)


def test_given_new_records_then_created_and_resent_records_are_unchanged(in_world: World) -> None:
    report = _push(in_world, _claims(in_world, 50))
    assert (report.created, report.updated, report.unchanged, report.rejected) == (50, 0, 0, 0)
    again = _push(in_world, _claims(in_world, 50))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 50)
    assert ClaimRecord.objects.count() == 50
    rec = ClaimRecord.objects.get(claim_no="C000003")
    assert rec.version == 1 and str(rec.amount_claimed) == "1000.00" and rec.satisfaction == 5
    assert rec.paid_at.isoformat() == "2026-03-02T16:00:00+00:00"  # 2026-03-03 00:00 in Beijing


def test_given_a_changed_record_then_only_it_updates_with_a_new_version(in_world: World) -> None:
    _push(in_world, _claims(in_world, 10))
    frame = _claims(in_world, 10).with_columns(
        pl.when(pl.col("claim_no") == "C000004")
        .then(pl.lit("2,000"))
        .otherwise(pl.col("amount_claimed"))
        .alias("amount_claimed")
    )
    report = _push(in_world, frame)
    assert (report.created, report.updated, report.unchanged) == (0, 1, 9)
    rec = ClaimRecord.objects.get(claim_no="C000004")
    assert rec.version == 2 and str(rec.amount_claimed) == "2000.00" and rec.batch_id == report.batch_id
    assert RecordHistory.objects.filter(record_id=rec.pk).count() == 1


def test_given_a_bad_last_row_then_nothing_is_written(in_world: World) -> None:
    frame = _claims(in_world, 100)
    frame = frame.with_columns(
        pl.when(pl.col("_row") == 101)
        .then(pl.lit("not-a-date"))
        .otherwise(pl.col("reported_at"))
        .alias("reported_at")
    )
    with pytest.raises(IngestRejected) as exc:
        _push(in_world, frame)
    report = exc.value.report
    assert (
        report.rejected == 1 and report.errors[0]["row"] == 101 and report.errors[0]["field"] == "reported_at"
    )
    assert ClaimRecord.objects.count() == 0 and Batch.objects.count() == 0


def test_dry_run_reports_what_would_happen_and_writes_nothing(in_world: World) -> None:
    _push(in_world, _claims(in_world, 5))
    report = _push(in_world, _claims(in_world, 8), dry_run=True)
    assert (report.created, report.unchanged, report.written) == (3, 5, False)
    assert ClaimRecord.objects.count() == 5


def test_quarantine_writes_valid_rows_and_keeps_rejected_ones(in_world: World) -> None:
    frame = _claims(in_world, 4).with_columns(
        pl.when(pl.col("_row") == 3).then(pl.lit("E-unknown")).otherwise(pl.col("handler")).alias("handler")
    )
    report = _push(in_world, frame, quarantine=True)
    assert (report.created, report.rejected) == (3, 1)
    batch = Batch.objects.get(pk=report.batch_id)
    text = Path(batch.quarantine_path).read_text(encoding="utf-8-sig")
    assert "E-unknown" in text and "unknown employee number" in text and text.count("\n") == 2


def test_rollback_restores_the_previous_state(in_world: World) -> None:
    first = _push(in_world, _claims(in_world, 3))
    second = _push(in_world, _claims(in_world, 5, amount="9"))  # 3 updated, 2 created
    assert (second.created, second.updated) == (2, 3)
    with pytest.raises(Exception, match="roll those back first"):
        do_rollback_batch(Batch.objects.get(pk=first.batch_id), actor=SYSTEM)
    do_rollback_batch(Batch.objects.get(pk=second.batch_id), actor=SYSTEM)
    assert ClaimRecord.objects.count() == 3
    assert {str(a) for a in ClaimRecord.objects.values_list("amount_claimed", flat=True)} == {"1000.00"}
    assert set(ClaimRecord.objects.values_list("version", flat=True)) == {1}
    do_rollback_batch(Batch.objects.get(pk=first.batch_id), actor=SYSTEM)
    assert ClaimRecord.objects.count() == 0


def test_unknown_references_are_row_errors_not_silent_nulls(in_world: World) -> None:
    with tenant_context(in_world.tenant):
        make_employee(in_world.hr, employee_no="X1")
    frame = _claims(in_world, 2).with_columns(pl.Series("handler", ["X1", "nobody"]))
    with pytest.raises(IngestRejected) as exc:
        _push(in_world, frame)
    assert exc.value.report.errors == [
        {
            "row": 3,
            "column": "handler",
            "field": "handler",
            "value": "nobody",
            "reason": "unknown employee number 'nobody'",
        }
    ]


def test_an_optional_field_left_out_is_stored_as_the_columns_default_not_a_database_error(
    in_world: World,
) -> None:
    from perflink.ingest.models import IncidentRecord
    from tests.factories import push

    # An incident without affected_transactions (optional in the HR/IT data): stored with 0, then updated with a
    # count, then sent again without it.
    record = {
        "external_id": "INC-1",
        "system": "核心出单",
        "severity": "P2",
        "started_at": "2026-03-02T09:00:00+08:00",
    }
    push("incident", [record])
    assert IncidentRecord.objects.get(external_id="INC-1").affected_transactions == 0
    push("incident", [{**record, "affected_transactions": 120}])
    assert IncidentRecord.objects.get(external_id="INC-1").affected_transactions == 120
    push("incident", [{**record, "ended_at": "2026-03-02T10:00:00+08:00"}])
    assert IncidentRecord.objects.get(external_id="INC-1").affected_transactions == 0

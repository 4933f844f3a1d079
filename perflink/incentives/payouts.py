"""Payout rows: what each person is paid, as plain rows beside the statement (period, person, unit, component,
amount, status), for payroll, BI tools and auditors to query in SQL.

Per person a run writes one row per component, then one row for each step from the components' subtotal to the
amount paid that changes it (multipliers together, floor and cap, pool), so a person's rows add up to the
statement's amount to the fen. A correction run writes the differences against what the published run and earlier
published corrections paid (rows that did not change are left out). A hand-entered adjustment is one row of the run
it adjusts.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

import polars as pl
from django.db import connection
from django.db.models import Sum

from perflink.engine.incentives import Plan
from perflink.incentives.choices import BonusRunKind, BonusRunStatus, PayoutKind, PayoutStatus
from perflink.incentives.models import BonusAdjustment, BonusPayout, BonusRun

ROW_SCHEMA: Final = {
    "person_id": pl.Int64,
    "kind": pl.String,
    "component": pl.String,
    "label": pl.String,
    "amount": pl.Decimal(18, 2),
    "status": pl.String,
}
STEP_LABELS: Final = {
    PayoutKind.MULTIPLIERS: "乘数调整",
    PayoutKind.LIMITS: "保底与封顶",
    PayoutKind.POOL: "奖金池缩放",
}


def payout_frame(plan: Plan, amounts: pl.DataFrame) -> pl.DataFrame:
    """The rows of a computed bonus (:data:`ROW_SCHEMA`), from the engine's amounts frame."""
    if amounts.is_empty():
        return pl.DataFrame(schema=ROW_SCHEMA)
    columns = amounts.columns
    provisional = pl.col("provisional") if "provisional" in columns else pl.lit(False)
    status = (
        pl.when(provisional)
        .then(pl.lit(PayoutStatus.PROVISIONAL.value))
        .otherwise(pl.lit(PayoutStatus.FINAL.value))
    )
    parts = []
    for c in plan.components:
        flag = pl.col(f"{c.key}.provisional") if f"{c.key}.provisional" in columns else pl.lit(False)
        parts.append(
            amounts.select(
                "person_id",
                pl.lit(PayoutKind.COMPONENT.value).alias("kind"),
                pl.lit(c.key).alias("component"),
                pl.lit(c.label).alias("label"),
                pl.col(f"{c.key}.amount").cast(pl.Decimal(18, 2)).alias("amount"),
                pl.when(flag.fill_null(False))
                .then(pl.lit(PayoutStatus.PROVISIONAL.value))
                .otherwise(pl.lit(PayoutStatus.FINAL.value))
                .alias("status"),
            )
        )
    steps = (
        (PayoutKind.MULTIPLIERS, "after_multipliers", "subtotal"),
        (PayoutKind.LIMITS, "after_limits", "after_multipliers"),
        (PayoutKind.POOL, "amount", "after_limits"),
    )
    for kind, after, before in steps:
        parts.append(
            amounts.select(
                "person_id",
                pl.lit(kind.value).alias("kind"),
                pl.lit(kind.value).alias("component"),
                pl.lit(STEP_LABELS[kind]).alias("label"),
                (pl.col(after).cast(pl.Decimal(18, 2)) - pl.col(before).cast(pl.Decimal(18, 2)))
                .cast(pl.Decimal(18, 2))
                .alias("amount"),
                status.alias("status"),
            ).filter(pl.col("amount") != 0)
        )
    return pl.concat(parts).sort("person_id", maintain_order=True)


def paid_so_far(run: BonusRun) -> pl.DataFrame:
    """What the published regular run of ``run``'s plan and period, and its published corrections, paid by
    calculation (hand-entered adjustments stand as decided): ``person_id, kind, component, label, amount``."""
    rows = (
        BonusPayout.objects.filter(
            run__plan_id=run.plan_id,
            run__period=run.period,
            run__status=BonusRunStatus.PUBLISHED,
            adjustment__isnull=True,
        )
        .values("employee_id", "kind", "component", "label")
        .annotate(total=Sum("amount"))
        .order_by("employee_id", "kind", "component")
    )
    return pl.DataFrame(
        [(r["employee_id"], r["kind"], r["component"], r["label"], r["total"]) for r in rows],
        schema={k: v for k, v in ROW_SCHEMA.items() if k != "status"},
        orient="row",
    )


def differences(new: pl.DataFrame, paid: pl.DataFrame) -> pl.DataFrame:
    """``new`` minus ``paid`` per person and component (a row missing on one side counts as 0); rows whose
    difference is 0 are left out. Status: the new row's (a component no longer paid is final)."""
    keys = ["person_id", "kind", "component"]
    joined = new.join(paid, on=keys, how="full", coalesce=True, suffix="_paid")
    return (
        joined.select(
            *keys,
            pl.coalesce("label", "label_paid").alias("label"),
            (
                pl.col("amount").fill_null(Decimal(0)).cast(pl.Decimal(18, 2))
                - pl.col("amount_paid").fill_null(Decimal(0)).cast(pl.Decimal(18, 2))
            )
            .cast(pl.Decimal(18, 2))
            .alias("amount"),
            pl.col("status").fill_null(PayoutStatus.FINAL.value),
        )
        .filter(pl.col("amount") != 0)
        .sort("person_id", "kind", "component")
        .select(list(ROW_SCHEMA))
    )


def write_payouts(run: BonusRun, rows: pl.DataFrame, units: dict[int, int | None]) -> None:
    """Store ``rows`` as the run's payout rows (inside the caller's transaction): one parameterised
    ``executemany`` (table and column names from the model), as model instances cost ~10× more per row."""
    if rows.is_empty():
        return
    meta = BonusPayout._meta
    names = [
        "tenant_id",
        "run_id",
        "period",
        "employee_id",
        "unit_id",
        "kind",
        "component",
        "label",
        "amount",
        "status",
    ]
    columns = ", ".join(
        connection.ops.quote_name(meta.get_field(n.removesuffix("_id")).column) for n in names
    )
    placeholders = ", ".join(["%s"] * len(names))
    sql = f"INSERT INTO {connection.ops.quote_name(meta.db_table)} ({columns}) VALUES ({placeholders})"  # noqa: S608
    values = [
        (
            run.tenant_id,
            run.pk,
            run.period,
            person_id,
            units.get(person_id),
            kind,
            component,
            label[:120],
            amount,
            status,
        )
        for person_id, kind, component, label, amount, status in rows.iter_rows()
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, values)


def write_adjustment_payout(entry: BonusAdjustment, unit_id: int | None) -> None:
    """A hand-entered adjustment as a payout row of the run it adjusts."""
    BonusPayout.objects.create(
        tenant_id=entry.tenant_id,
        run_id=entry.run_id,
        period=entry.run.period,
        employee_id=entry.employee_id,
        unit_id=unit_id,
        kind=PayoutKind.ADJUSTMENT,
        component=PayoutKind.ADJUSTMENT.value,
        label=entry.reason[:120],
        amount=entry.amount,
        status=PayoutStatus.FINAL,
        adjustment=entry,
    )


def person_totals(run: BonusRun) -> dict[int, Decimal]:
    """Each person's sum of the run's payout rows (calculation rows only)."""
    rows = (
        BonusPayout.objects.filter(run=run, adjustment__isnull=True)
        .values_list("employee_id")
        .annotate(total=Sum("amount"))
        .values_list("employee_id", "total")
    )
    return dict(rows)


def is_correction(run: BonusRun) -> bool:
    return run.kind == BonusRunKind.CORRECTION

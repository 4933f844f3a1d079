"""Selectors that build the analysis frames of the current tenant from the database (read-only).

Every function runs inside a tenant context (the tenant-owned managers scope each query) and returns a polars
frame; months are numbered `year * 12 + month - 1` so they can be subtracted and lagged as integers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import polars as pl
from django.conf import settings
from django.db.models import Count, Q
from django.db.models.functions import TruncMonth

from perflink.analytics import maturity
from perflink.engine.metrics.companions import COHORT_SUFFIX
from perflink.ingest.models import (
    ClaimRecord,
    HireRecord,
    IncidentRecord,
    IncidentUnit,
    PolicyRecord,
    TrainingRecord,
)
from perflink.metrics.catalogue import field_label
from perflink.metrics.models import CalcRun
from perflink.metrics.selectors import run_frame
from perflink.org.models import OrgUnit

# DOMAIN.md's new-agent yardstick, as the library metric new_agent_attainment_3m defines it.
WINDOW_DAYS = 90  # 3 months after arrival
TARGET_YUAN = 100_000  # first-year premium a new agent must reach in the window
TRAINING_DAYS = 30  # "trained": a course completed within this many days of arrival


def month_number(year: int, month: int) -> int:
    return year * 12 + month - 1


def period_label(number: int) -> str:
    return f"{number // 12:04d}-{number % 12 + 1:02d}"


def parse_period(label: str) -> int:
    year, month = label.split("-")
    return month_number(int(year), int(month))


# --- Metric results ---------------------------------------------------------------------------------------


def latest_runs(periods: Iterable[str] | None = None) -> list[CalcRun]:
    """The latest finished calculation run of each period (optionally only of `periods`)."""
    runs = CalcRun.objects.filter(status="done")
    if periods is not None:
        runs = runs.filter(period__in=list(periods))
    latest: dict[str, CalcRun] = {}
    for run in runs.order_by("period", "-number"):
        latest.setdefault(run.period, run)
    return [latest[p] for p in sorted(latest)]


def metric_values(
    codes: Iterable[str] | None = None, periods: Iterable[str] | None = None, *, immature: bool = False
) -> pl.DataFrame:
    """Unit-level values of metrics from the latest run of every calculated month: columns metric, unit_id,
    period (month number), value, provisional (the month's value was not final at the run's data date).

    Months whose value of a metric is not yet final are left out unless ``immature`` (then kept, marked
    provisional): see :mod:`perflink.analytics.maturity`."""
    wanted = list(codes) if codes is not None else None
    frames = []
    for run in latest_runs(periods):
        values = run_frame(run, "values").filter(pl.col("level") == "unit", pl.col("value").is_not_null())
        # Matured-cohort companions (``<code>@cohort``) are another period's cohort: not this month's value.
        values = values.filter(~pl.col("metric").str.ends_with(COHORT_SUFFIX))
        if wanted is not None:
            values = values.filter(pl.col("metric").is_in(wanted))
        unfinished = sorted(maturity.immature_metrics(run))
        flagged = pl.col("provisional").fill_null(False) if "provisional" in values.columns else pl.lit(False)
        values = values.with_columns((flagged | pl.col("metric").is_in(unfinished)).alias("_provisional"))
        if not immature:
            values = values.filter(~pl.col("_provisional"))
        frames.append(
            values.select(
                "metric",
                pl.col("subject_id").alias("unit_id"),
                pl.lit(parse_period(run.period), dtype=pl.Int64).alias("period"),
                pl.col("value").cast(pl.Float64),
                pl.col("_provisional").alias("provisional"),
            )
        )
    if not frames:
        return pl.DataFrame(schema=VALUES_SCHEMA)
    return pl.concat(frames)


VALUES_SCHEMA: dict[str, type[pl.DataType]] = {
    "metric": pl.String,
    "unit_id": pl.Int64,
    "period": pl.Int64,
    "value": pl.Float64,
    "provisional": pl.Boolean,
}


def immature_months(codes: Iterable[str], periods: Iterable[str] | None = None) -> dict[str, list[str]]:
    """Per metric, the calculated months (labels, oldest first) whose value was not final at their latest
    run's data date: the months :func:`metric_values` leaves out by default."""
    wanted = list(codes)
    out: dict[str, list[str]] = {code: [] for code in wanted}
    for run in latest_runs(periods):
        unfinished = maturity.immature_metrics(run)
        for code in wanted:
            if code in unfinished:
                out[code].append(run.period)
    return out


def unit_paths() -> dict[int, str]:
    return dict(OrgUnit.objects.values_list("id", "path"))


def finest_units(unit_ids: Iterable[int], paths: dict[int, str]) -> list[int]:
    """The units of `unit_ids` that have no descendant among them: metrics roll up the tree, so a panel that
    kept a department and its teams would count the same records twice."""
    ids = {int(u) for u in unit_ids if int(u) in paths}
    ancestors: set[int] = set()
    for u in ids:
        ancestors.update(int(p) for p in paths[u].strip("/").split("/")[:-1])
    return sorted(ids - ancestors)


def pair_panel(functional: str, business: str, values: pl.DataFrame | None = None) -> pl.DataFrame:
    """Unit x month panel of a functional and a business metric at the finest units where both are computed:
    columns unit_id, period, x (functional), y (business); x or y null where that month has no value."""
    if values is None:
        values = metric_values([functional, business])
    fx = values.filter(pl.col("metric") == functional).select("unit_id", "period", pl.col("value").alias("x"))
    by = values.filter(pl.col("metric") == business).select("unit_id", "period", pl.col("value").alias("y"))
    common = set(fx["unit_id"].unique().to_list()) & set(by["unit_id"].unique().to_list())
    units = finest_units(common, unit_paths())
    return (
        fx.filter(pl.col("unit_id").is_in(units))
        .join(by.filter(pl.col("unit_id").is_in(units)), on=["unit_id", "period"], how="full", coalesce=True)
        .sort("unit_id", "period")
    )


# --- Claims -----------------------------------------------------------------------------------------------


def _branch_of(paths: dict[int, str]) -> dict[int, int]:
    """Each unit's branch: the second level of the tree (the unit itself when it sits at the top)."""
    out = {}
    for unit, path in paths.items():
        parts = path.strip("/").split("/")
        out[unit] = int(parts[1]) if len(parts) > 1 else int(parts[0])
    return out


def claims_frame() -> pl.DataFrame:
    """Paid claims with a satisfaction answer: claim id, line, unit, branch, approval month (local), payment
    days (paid_at - approved_at) and satisfaction (1-5)."""
    rows = ClaimRecord.objects.filter(
        paid_at__isnull=False, approved_at__isnull=False, satisfaction__isnull=False
    ).values_list("id", "line", "unit_id", "approved_at", "paid_at", "satisfaction")
    schema: dict[str, pl.DataType | type[pl.DataType]] = {
        "id": pl.Int64,
        "line": pl.String,
        "unit_id": pl.Int64,
        "approved_at": pl.Datetime("us", "UTC"),
        "paid_at": pl.Datetime("us", "UTC"),
        "satisfaction": pl.Float64,
    }
    frame = pl.DataFrame(list(rows), schema=schema, orient="row")
    branch = _branch_of(unit_paths())
    local = pl.col("approved_at").dt.convert_time_zone(settings.TIME_ZONE)
    return frame.with_columns(
        ((pl.col("paid_at") - pl.col("approved_at")).dt.total_seconds() / 86400.0).alias("payment_days"),
        (local.dt.year().cast(pl.Int64) * 12 + local.dt.month().cast(pl.Int64) - 1).alias("period"),
        pl.col("unit_id").replace_strict(branch, default=None, return_dtype=pl.Int64).alias("branch_id"),
    )


@dataclass(frozen=True)
class MissingInput:
    """Records of a kind that an analysis could not use because a field it needs is empty: "1,234 claims have
    no payment time (赔付时间)"."""

    kind: str  # record kind, e.g. "claim"
    field: str  # the field's name, e.g. "paid_at"
    label_zh: str  # the field's name in the import templates, e.g. 赔付时间
    label_en: str  # e.g. "payment time"
    rows: int  # records lacking it


# The fields each record-level analysis needs, with their English names (the Chinese come from the import kinds).
CLAIM_INPUTS = (
    ("approved_at", "approval time"),
    ("paid_at", "payment time"),
    ("satisfaction", "satisfaction"),
)
INCIDENT_INPUTS = (("ended_at", "end time"),)
HIRE_INPUTS = (("requisition", "requisition"), ("arrived_on", "arrival date"), ("employee", "employee"))


def _missing(kind: str, model: type[Any], fields: Iterable[tuple[str, str]]) -> list[MissingInput]:
    """Per needed field, how many of the kind's records lack it (fields no record lacks are left out)."""
    counts = model.objects.aggregate(
        **{name: Count("id", filter=Q(**{f"{name}__isnull": True})) for name, _label in fields}
    )
    return [
        MissingInput(kind, name, field_label(kind, name), label, int(counts[name]))
        for name, label in fields
        if counts[name]
    ]


def claims_missing() -> list[MissingInput]:
    return _missing("claim", ClaimRecord, CLAIM_INPUTS)


def incidents_missing() -> list[MissingInput]:
    return _missing("incident", IncidentRecord, INCIDENT_INPUTS)


def hires_missing() -> list[MissingInput]:
    return _missing("hire", HireRecord, HIRE_INPUTS)


def hires_in_open_windows() -> int:
    """New agents (hired through a requisition) whose 90-day window had not closed by the data's last day: not
    missing, only not yet countable."""
    as_of = data_as_of()
    if as_of is None:
        return 0
    return HireRecord.objects.filter(
        requisition__isnull=False,
        arrived_on__gt=as_of - timedelta(days=WINDOW_DAYS),
        employee__employment_type="agent",
    ).count()


# --- New agents -------------------------------------------------------------------------------------------


def data_as_of() -> date | None:
    """The last day the policy records cover (new agents' windows ending later are not complete)."""
    return PolicyRecord.objects.order_by("-issued_on").values_list("issued_on", flat=True).first()


def new_agent_frame() -> pl.DataFrame:
    """Agents hired through a requisition whose 3-month window has ended by the data's last day:
    employee_id, arrived_on, time_to_fill (days from the requisition's opening), channel, trained, premium
    in the window (yuan), attained (premium >= target) and retained (still employed on day 90)."""
    as_of = data_as_of()
    schema: dict[str, pl.DataType | type[pl.DataType]] = {
        "employee_id": pl.Int64,
        "arrived_on": pl.Date,
        "opened_on": pl.Date,
        "channel": pl.String,
        "exit_date": pl.Date,
    }
    if as_of is None:
        return pl.DataFrame(
            schema={
                **schema,
                "premium": pl.Float64,
                "trained": pl.Boolean,
                "time_to_fill": pl.Float64,
                "attained": pl.Boolean,
                "retained": pl.Boolean,
            }
        )
    last_arrival = as_of - timedelta(days=WINDOW_DAYS)
    hires = HireRecord.objects.filter(
        requisition__isnull=False,
        arrived_on__isnull=False,
        arrived_on__lte=last_arrival,
        employee__isnull=False,
        employee__employment_type="agent",
    ).values_list("employee_id", "arrived_on", "requisition__opened_on", "channel", "employee__exit_date")
    agents = pl.DataFrame(list(hires), schema=schema, orient="row").unique("employee_id", keep="first")
    ids = agents["employee_id"].to_list()
    policies = pl.DataFrame(
        list(
            PolicyRecord.objects.filter(agent_id__in=ids, issued_on__isnull=False).values_list(
                "agent_id", "issued_on", "first_year_premium"
            )
        ),
        schema={"employee_id": pl.Int64, "issued_on": pl.Date, "premium": pl.Float64},
        orient="row",
    )
    training = pl.DataFrame(
        list(
            TrainingRecord.objects.filter(employee_id__in=ids, completed_on__isnull=False).values_list(
                "employee_id", "completed_on"
            )
        ),
        schema={"employee_id": pl.Int64, "completed_on": pl.Date},
        orient="row",
    )
    window = pl.duration(days=WINDOW_DAYS)
    premium = (
        policies.join(agents.select("employee_id", "arrived_on"), on="employee_id")
        .filter(
            pl.col("issued_on") >= pl.col("arrived_on"), pl.col("issued_on") < pl.col("arrived_on") + window
        )
        .group_by("employee_id")
        .agg(pl.col("premium").sum())
    )
    trained = (
        training.join(agents.select("employee_id", "arrived_on"), on="employee_id")
        .filter(
            pl.col("completed_on") >= pl.col("arrived_on"),
            pl.col("completed_on") <= pl.col("arrived_on") + pl.duration(days=TRAINING_DAYS),
        )
        .select("employee_id")
        .unique()
        .with_columns(pl.lit(True).alias("trained"))
    )
    return (
        agents.join(premium, on="employee_id", how="left")
        .join(trained, on="employee_id", how="left")
        .with_columns(
            (pl.col("arrived_on") - pl.col("opened_on"))
            .dt.total_days()
            .cast(pl.Float64)
            .alias("time_to_fill"),
            pl.col("premium").fill_null(0.0),
            pl.col("trained").fill_null(False),
        )
        .with_columns(
            (pl.col("premium") >= TARGET_YUAN).alias("attained"),
            (pl.col("exit_date").is_null() | (pl.col("exit_date") >= pl.col("arrived_on") + window)).alias(
                "retained"
            ),
        )
        .sort("employee_id")
    )


# --- Outages and policies ---------------------------------------------------------------------------------


def outage_policy_frame() -> pl.DataFrame:
    """Life sales teams by month: policies issued (PolicyRecord.unit) and outage hours (incidents listing the
    team, by local month of the start). Columns unit_id, period, policies, outage_hours."""
    counts = (
        PolicyRecord.objects.filter(issued_on__isnull=False)
        .annotate(month=TruncMonth("issued_on"))
        .values_list("unit_id", "month")
        .annotate(n=Count("id"))
    )
    policies = pl.DataFrame(
        [(u, month_number(m.year, m.month), n) for u, m, n in counts],
        schema={"unit_id": pl.Int64, "period": pl.Int64, "policies": pl.Float64},
        orient="row",
    )
    incidents = pl.DataFrame(
        list(
            IncidentRecord.objects.filter(ended_at__isnull=False).values_list("id", "started_at", "ended_at")
        ),
        schema={
            "incident_id": pl.Int64,
            "started_at": pl.Datetime("us", "UTC"),
            "ended_at": pl.Datetime("us", "UTC"),
        },
        orient="row",
    )
    links = pl.DataFrame(
        list(IncidentUnit.objects.values_list("incident_id", "unit_id")),
        schema={"incident_id": pl.Int64, "unit_id": pl.Int64},
        orient="row",
    )
    local = pl.col("started_at").dt.convert_time_zone(settings.TIME_ZONE)
    hours = (
        links.join(incidents, on="incident_id")
        .with_columns(
            ((pl.col("ended_at") - pl.col("started_at")).dt.total_seconds() / 3600.0).alias("hours"),
            (local.dt.year().cast(pl.Int64) * 12 + local.dt.month().cast(pl.Int64) - 1).alias("period"),
        )
        .group_by("unit_id", "period")
        .agg(pl.col("hours").sum().alias("outage_hours"))
    )
    return (
        policies.join(hours, on=["unit_id", "period"], how="left")
        .with_columns(pl.col("outage_hours").fill_null(0.0))
        .sort("unit_id", "period")
    )

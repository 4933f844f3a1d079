"""Plausibility rules per record kind and field, as data: what a value may not be (errors, the row is rejected)
and what deserves a second look (warnings, the row is accepted and the finding kept with the batch).

Pure: polars in, polars out, no database. Four rule types:

- ``minimum``: a value below the rule's minimum (a negative amount);
- ``order``: a time earlier than another time of the same record (paid before approved);
- ``not_future``: a date or instant later than the import's time plus a tolerance (a report date months ahead);
- ``outlier``: an amount more than ``factor`` times the usual for its unit (the median of the unit's stored
  records of the kind over a recent window, or of the delivery itself when there are too few).

Every rule is checked over the whole frame at once. A tenant may change a rule's severity or switch it off
(``with_overrides``); the rule table itself is code, reviewed like code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Literal

import polars as pl

from perflink.core.instants import local_zone
from perflink.ingest.kinds import KINDS, KindSpec

Severity = Literal["error", "warning"]
RuleType = Literal["minimum", "order", "not_future", "outlier"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning")
OFF = "off"  # an override that switches a rule off


@dataclass(frozen=True)
class Rule:
    """One plausibility rule. ``field`` is the field a finding is reported on (for ``order``, the later one)."""

    code: str  # stable, e.g. "claim.paid_at.order.approved_at"; overrides refer to it
    kind: str
    type: RuleType
    field: str
    severity: Severity
    other: str = ""  # order: the field that must not be later than ``field``
    minimum: Decimal = Decimal(0)
    tolerance: timedelta = timedelta(0)  # not_future: how far ahead of the import a value may be
    factor: int = 100  # outlier: how many times the usual
    by: tuple[str, ...] = ("unit",)  # outlier: the fields whose values group "the usual"
    window_days: int = 180  # outlier: how far back stored records count (by when they were received)
    min_samples: int = 5  # outlier: fewer records than this tell nothing usual


def _minimum(kind: str, field: str) -> Rule:
    return Rule(f"{kind}.{field}.minimum", kind, "minimum", field, "error")


def _order(kind: str, first: str, then: str) -> Rule:
    return Rule(f"{kind}.{then}.order.{first}", kind, "order", then, "error", other=first)


def _future(kind: str, field: str, tolerance: timedelta) -> Rule:
    return Rule(f"{kind}.{field}.not_future", kind, "not_future", field, "warning", tolerance=tolerance)


def _outlier(kind: str, field: str, by: tuple[str, ...] = ("unit",)) -> Rule:
    return Rule(f"{kind}.{field}.outlier", kind, "outlier", field, "warning", by=by)


# Instants may run an hour ahead (clocks of source systems drift); dates a day (a record dated tomorrow by a
# system that closes its day early is no mistake).
HOUR, DAY = timedelta(hours=1), timedelta(days=1)

RULES: dict[str, tuple[Rule, ...]] = {
    "policy": (
        _minimum("policy", "first_year_premium"),
        _minimum("policy", "annualised_premium"),
        _order("policy", "applied_on", "issued_on"),
        _order("policy", "issued_on", "terminated_on"),
        _order("policy", "applied_on", "terminated_on"),
        _future("policy", "applied_on", DAY),
        _future("policy", "issued_on", DAY),
        _outlier("policy", "first_year_premium"),
        _outlier("policy", "annualised_premium"),
    ),
    "claim": (
        _minimum("claim", "amount_claimed"),
        _minimum("claim", "amount_paid"),
        _order("claim", "reported_at", "registered_at"),
        _order("claim", "reported_at", "assessed_at"),
        _order("claim", "reported_at", "approved_at"),
        _order("claim", "reported_at", "paid_at"),
        _order("claim", "reported_at", "closed_at"),
        _order("claim", "approved_at", "paid_at"),
        *(
            _future("claim", f, HOUR)
            for f in ("reported_at", "registered_at", "assessed_at", "approved_at", "paid_at", "closed_at")
        ),
        _outlier("claim", "amount_claimed"),
        _outlier("claim", "amount_paid"),
    ),
    "requisition": (
        _order("requisition", "opened_on", "target_date"),
        _order("requisition", "opened_on", "closed_on"),
        _future("requisition", "opened_on", DAY),
        _future("requisition", "closed_on", DAY),
    ),
    "hire": (
        _order("hire", "offer_on", "arrived_on"),
        _future("hire", "offer_on", DAY),
    ),
    "training": (_future("training", "completed_on", DAY),),
    "payment": (
        _minimum("payment", "amount"),
        _order("payment", "requested_at", "approved_at"),
        _order("payment", "requested_at", "paid_at"),
        _order("payment", "approved_at", "paid_at"),
        *(_future("payment", f, HOUR) for f in ("requested_at", "approved_at", "paid_at")),
        # A commission and a claim payment of one unit have different usual sizes.
        _outlier("payment", "amount", by=("unit", "kind")),
    ),
    "incident": (
        _order("incident", "started_at", "ended_at"),
        _future("incident", "started_at", HOUR),
        _future("incident", "ended_at", HOUR),
    ),
    "survey_response": (_future("survey_response", "answered_at", HOUR),),
    "demand_evaluation": (_future("demand_evaluation", "evaluated_at", HOUR),),
}

RULES_BY_CODE: dict[str, Rule] = {r.code: r for rules in RULES.values() for r in rules}


def with_overrides(kind: str, overrides: Mapping[str, str]) -> tuple[Rule, ...]:
    """The kind's rules with a tenant's choices applied: code -> "error", "warning" or "off"."""
    out = []
    for rule in RULES.get(kind, ()):
        choice = overrides.get(rule.code)
        if choice == OFF:
            continue
        out.append(replace(rule, severity=choice) if choice in SEVERITIES else rule)
    return tuple(out)


# The stored amounts a rule compares with: given the rule and the distinct group keys of a frame (columns named
# like the cleaned frame's, e.g. unit_id), a frame of those keys with `usual` (the median) and `n` (how many).
History = Callable[[Rule, pl.DataFrame], pl.DataFrame]


@dataclass(frozen=True)
class Checks:
    """What a plausibility check needs besides the frame: the rules, the import's time, stored amounts."""

    rules: tuple[Rule, ...]
    now: datetime
    history: History | None = None

    @classmethod
    def default(cls, kind: str, now: datetime | None = None) -> Checks:
        return cls(RULES.get(kind, ()), now or datetime.now(UTC))


FINDINGS_SCHEMA = {
    "_row": pl.Int64,
    "field": pl.String,
    "reason": pl.String,
    "rule": pl.String,
    "severity": pl.String,
}


def group_columns(spec: KindSpec, rule: Rule) -> list[str]:
    """The cleaned frame's columns an outlier rule groups by (references end in `_id`)."""
    return [spec.field(name).column for name in rule.by]


def check(frame: pl.DataFrame, spec: KindSpec, checks: Checks, labels: Mapping[str, str]) -> pl.DataFrame:
    """Every finding of the rules on a typed frame (canonical columns and `_row`): one row per flagged cell
    with its field, reason, rule code and severity. `labels` names fields as the user's file does."""
    present = set(frame.columns)
    parts: list[pl.DataFrame] = []
    for rule in checks.rules:
        if rule.field not in present or (rule.other and rule.other not in present):
            continue
        if rule.type == "outlier":
            parts.append(_outliers(frame, spec, rule, checks.history))
            continue
        flagged, reason = _condition(frame, rule, checks.now, labels)
        parts.append(
            frame.filter(flagged.fill_null(False)).select(
                "_row",
                pl.lit(rule.field).alias("field"),
                reason.alias("reason"),
                pl.lit(rule.code).alias("rule"),
                pl.lit(rule.severity).alias("severity"),
            )
        )
    if not parts:
        return pl.DataFrame(schema=FINDINGS_SCHEMA)
    return pl.concat([p.cast(FINDINGS_SCHEMA) for p in parts], how="vertical")  # type: ignore[arg-type]


def _condition(
    frame: pl.DataFrame, rule: Rule, now: datetime, labels: Mapping[str, str]
) -> tuple[pl.Expr, pl.Expr]:
    value = pl.col(rule.field)
    if rule.type == "minimum":
        return value < pl.lit(rule.minimum), pl.lit(f"below the minimum of {rule.minimum}")
    if rule.type == "order":
        earlier = value < pl.col(rule.other)
        return earlier, pl.lit(f"earlier than {labels.get(rule.other, rule.other)}")
    # not_future: a date counts from its first moment in the tenant's zone (Beijing), an instant as it is.
    limit = now + rule.tolerance
    if frame.schema[rule.field] == pl.Date:
        latest = limit.astimezone(local_zone()).date()
        return value > pl.lit(latest), pl.lit(f"in the future (after {latest.isoformat()})")
    shown = limit.astimezone(local_zone()).strftime("%Y-%m-%d %H:%M")
    return value > pl.lit(limit), pl.lit(f"in the future (after {shown} Beijing time)")


def _outliers(frame: pl.DataFrame, spec: KindSpec, rule: Rule, history: History | None) -> pl.DataFrame:
    """Amounts above `factor` x their group's usual. The usual is the median of the group's stored records when
    there are at least `min_samples` of them, else the median of this frame's rows of the group."""
    keys = group_columns(spec, rule)
    if any(k not in frame.columns for k in keys):
        return pl.DataFrame(schema=FINDINGS_SCHEMA)
    rows = frame.select("_row", *keys, pl.col(rule.field).cast(pl.Float64).alias("__amount")).drop_nulls(
        "__amount"
    )
    if rows.is_empty():
        return pl.DataFrame(schema=FINDINGS_SCHEMA)
    own = rows.group_by(keys).agg(
        pl.col("__amount").median().alias("__batch_usual"), pl.len().cast(pl.Int64).alias("__batch_n")
    )
    stored = history(rule, own.select(keys)) if history is not None else None
    if stored is None or stored.is_empty():
        stored = own.select(keys).with_columns(
            pl.lit(None, dtype=pl.Float64).alias("usual"), pl.lit(0, dtype=pl.Int64).alias("n")
        )
    usual = own.join(stored.select(*keys, "usual", "n"), on=keys, how="left", nulls_equal=True).select(
        *keys,
        pl.when(pl.col("n") >= rule.min_samples)
        .then(pl.col("usual"))
        .when(pl.col("__batch_n") >= rule.min_samples)
        .then(pl.col("__batch_usual"))
        .alias("__usual"),
        pl.when(pl.col("n") >= rule.min_samples)
        .then(pl.format("median of {} stored records", pl.col("n")))
        .otherwise(pl.format("median of {} rows of this delivery", pl.col("__batch_n")))
        .alias("__basis"),
    )
    flagged = rows.join(usual, on=keys, how="left", nulls_equal=True).filter(
        (pl.col("__usual") > 0) & (pl.col("__amount") > pl.col("__usual") * rule.factor)
    )
    return flagged.select(
        "_row",
        pl.lit(rule.field).alias("field"),
        pl.format(
            "more than {}× the usual {} for its {} ({})",
            pl.lit(rule.factor),
            pl.col("__usual").round(2).cast(pl.Decimal(20, 2)).cast(pl.String),
            pl.lit(" and ".join(rule.by)),
            pl.col("__basis"),
        ).alias("reason"),
        pl.lit(rule.code).alias("rule"),
        pl.lit(rule.severity).alias("severity"),
    )


def describe(rule: Rule, labels: Mapping[str, str]) -> str:
    """A rule in one line, e.g. "赔付时间 ≥ 核赔时间" (field labels, symbols; the page adds words)."""
    name = labels.get(rule.field, rule.field)
    if rule.type == "minimum":
        return f"{name} ≥ {rule.minimum}"
    if rule.type == "order":
        return f"{labels.get(rule.other, rule.other)} ≤ {name}"
    if rule.type == "not_future":
        hours = int(rule.tolerance.total_seconds() // 3600)
        return f"{name} ≤ now + {hours} h"
    return f"{name} ≤ {rule.factor} × median"


def kind_rules(kinds: Iterable[str] = KINDS) -> list[Rule]:
    return [r for k in kinds for r in RULES.get(k, ())]

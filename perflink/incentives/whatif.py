"""What-if and back-testing of an incentive plan (方案模拟与回测): a changed plan paid over past periods on the
same inputs as the plan in force, side by side. Nothing is written: no bonus run, no plan version, no audit event.

For each period asked for (months, quarters or years, or month ranges such as ``2025-01..2026-10``) that has a
calculation run, the plan's inputs are resolved once, exactly as a bonus run resolves them
(:func:`perflink.incentives.bonus.resolve_inputs`), and the engine pays both the version in force and the
changed plan on them. A period without a calculation run, or before the plan's first version, is reported as
skipped with the reason. The figures, per period and over the whole range:

* totals: real (the version in force), tried (the changed plan), delta, delta % of real, people;
* sums by unit: each person counted in the unit they belonged to in that period's calculation run;
* the people who gain and lose most (by their summed delta over the range);
* distributions: real and tried amounts on shared bins, and the deltas that are not zero (person-months);
* the month-by-month series of the back-test.

"Real" is what the version in force pays on the period's latest calculation run: a stored bonus run made on an
earlier run, or adjusted after publication, may differ. Money stays Decimal to the fen.

A plan's own thresholds and bands (``when.value``, ``bands[].upto``, factors, weights, cap, pool) are plan
changes and are covered. Metric targets (which move the scores a plan reads) are not part of a plan: trying
them would need a recalculation, which a what-if does not do.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import polars as pl
from django.utils.translation import gettext as _

from perflink.core.errors import DomainError, ValidationFailed
from perflink.core.money import to_fen
from perflink.engine.incentives import compute, parse_plan
from perflink.engine.incentives.plan import PerPersonBase, Plan
from perflink.engine.periods import Period, add_months
from perflink.incentives.actions import check_plan
from perflink.incentives.bonus import resolve_inputs, version_for
from perflink.incentives.choices import BonusRunStatus
from perflink.incentives.models import BonusRun, IncentivePlan
from perflink.metrics.models import CalcRun
from perflink.metrics.selectors import latest_run, run_inputs
from perflink.org.models import Employee, OrgUnit

NO_RUN = "no calculation run"
NO_VERSION = "no plan version in force"
MAX_PERIODS = 60  # five years of months: a back-test stays a matter of seconds
TOP = 10
BINS = 12
MONEY = pl.Decimal(18, 2)
_MONTH = re.compile(r"^\d{4}-\d{2}$")
# Which of a period's bonus runs is "the real one" a statement link points to: the furthest along, then newest.
_RUN_RANK = {
    BonusRunStatus.PUBLISHED: 0,
    BonusRunStatus.APPROVED: 1,
    BonusRunStatus.SUBMITTED: 2,
    BonusRunStatus.DRAFT: 3,
}


# --- periods ----------------------------------------------------------------------------------------------------


def _parse(label: str) -> Period:
    try:
        return Period.parse(label)
    except ValueError as exc:  # PeriodError, or a date Python refuses (year 0)
        raise ValidationFailed(str(exc), field="periods") from None


def _month(label: str, item: str) -> Period:
    period = _parse(label)
    if period.months != 1:
        raise ValidationFailed(
            _("In a range of months (%(range)s), both ends are months (YYYY-MM), not %(label)s.")
            % {"range": item, "label": period.label},
            field="periods",
        )
    return period


def _next_month(period: Period) -> Period:
    start = add_months(period.start, 1)
    return Period.parse(f"{start.year:04d}-{start.month:02d}")


def expand_periods(items: Iterable[str]) -> list[Period]:
    """Period labels and month ranges (``2025-01..2026-10``, both ends included) as periods, each once, in the
    order given; at most :data:`MAX_PERIODS`."""
    found: dict[str, Period] = {}

    def add(period: Period) -> None:
        found.setdefault(period.label, period)
        if len(found) > MAX_PERIODS:
            raise ValidationFailed(
                _("A what-if covers at most %(n)s periods.") % {"n": MAX_PERIODS}, field="periods"
            )

    for item in items:
        text = str(item).strip()
        first, dots, last = text.partition("..")
        if not dots:
            add(_parse(text))
            continue
        month, end = _month(first.strip(), text), _month(last.strip(), text)
        if end.start < month.start:
            raise ValidationFailed(
                _("The range %(range)s ends before it starts.") % {"range": text}, field="periods"
            )
        while month.start <= end.start:
            add(month)
            month = _next_month(month)
    if not found:
        raise ValidationFailed(_("Name at least one period."), field="periods")
    return list(found.values())


def months_with_runs() -> list[str]:
    """The months that have a finished calculation run, oldest first (what a back-test can cover)."""
    labels = CalcRun.objects.filter(status="done").values_list("period", flat=True).distinct()
    return sorted({label for label in labels if _MONTH.match(label)})


# --- the back-test: one frame of person-periods -----------------------------------------------------------------


@dataclass(frozen=True)
class BackTest:
    """A changed plan tried over periods: ``rows`` holds one row per person and tried period (``period,
    person_id, unit_id, real, tried, delta``; money Decimal(18, 2)); ``periods`` says, in the order asked, what
    happened to each period (tried with which plan version and calculation run, or skipped and why)."""

    plan: IncentivePlan
    periods: list[dict[str, Any]]
    rows: pl.DataFrame

    @property
    def tried(self) -> list[str]:
        return [p["period"] for p in self.periods if not p.get("skipped")]


def changed_plan(definition: Mapping[str, Any]) -> Plan:
    """The changed plan, checked like a plan being saved (the message names the faulty part)."""
    check_plan(definition)
    return parse_plan(definition)


def back_test(plan: IncentivePlan, definition: Mapping[str, Any], periods: Iterable[str]) -> BackTest:
    """Pay ``definition`` and the version in force of ``plan`` over ``periods``; nothing is written."""
    changed = changed_plan(definition)
    asked = expand_periods(periods)
    frames: list[pl.DataFrame] = []
    outcome: list[dict[str, Any]] = []
    for period in asked:
        calc = latest_run(period.label)
        if calc is None:
            outcome.append({"period": period.label, "skipped": NO_RUN})
            continue
        try:
            version = version_for(plan, period)
        except ValidationFailed:
            outcome.append({"period": period.label, "skipped": NO_VERSION})
            continue
        try:
            inputs = resolve_inputs(version, calc, period)
            real = compute(parse_plan(version.definition), inputs, lines=False).amounts
        except (DomainError, ValueError) as exc:  # e.g. someone without a per-person base
            outcome.append({"period": period.label, "skipped": _message(exc)})
            continue
        try:
            # Inputs (or a per-person base) the changed plan reads but the version in force does not: resolved
            # the same way, for the same population.
            wanted = [*changed.inputs(), *(["base"] if isinstance(changed.base, PerPersonBase) else [])]
            extra = [name for name in wanted if name not in inputs.columns]
            if extra:
                probe = copy.copy(version)
                probe.definition = dict(definition)
                more = resolve_inputs(probe, calc, period).select("person_id", *extra)
                inputs = inputs.join(more, on="person_id", how="left")
            tried = compute(changed, inputs, lines=False).amounts
        except (DomainError, ValueError) as exc:
            raise ValidationFailed(f"{period.label}: {_message(exc)}", field="definition") from None
        units = run_inputs(calc, ["employee"])["employee"].select(pl.col("id").alias("person_id"), "unit_id")
        frames.append(
            real.select("person_id", pl.col("amount").cast(MONEY).alias("real"))
            .join(tried.select("person_id", pl.col("amount").cast(MONEY).alias("tried")), on="person_id")
            .join(units, on="person_id", how="left")
            .select(
                pl.lit(period.label).alias("period"),
                "person_id",
                "unit_id",
                "real",
                "tried",
                (pl.col("tried") - pl.col("real")).cast(MONEY).alias("delta"),
            )
        )
        outcome.append({"period": period.label, "plan_version": version.number, "calc_run_id": calc.pk})
    rows = pl.concat(frames) if frames else _empty_rows()
    return BackTest(plan=plan, periods=outcome, rows=rows)


def _message(exc: Exception) -> str:
    return exc.message if isinstance(exc, DomainError) else str(exc)


def _empty_rows() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "period": pl.String,
            "person_id": pl.Int64,
            "unit_id": pl.Int64,
            "real": MONEY,
            "tried": MONEY,
            "delta": MONEY,
        }
    )


# --- the figures --------------------------------------------------------------------------------------------------


def what_if(plan: IncentivePlan, definition: Mapping[str, Any], periods: Iterable[str]) -> dict[str, Any]:
    """A changed plan over past periods against the plan in force: the figures per period and over the range.

    Raises ``ValidationFailed`` (field ``definition`` or ``periods``) for a plan or a period that is not valid.
    """
    return summarise(back_test(plan, definition, periods))


def summarise(test: BackTest) -> dict[str, Any]:
    """The back-test's figures (see the module docstring), people and units named, with two queries in all."""
    rows = test.rows
    runs = _bonus_runs(test.plan, test.tried)
    with_run = rows.filter(pl.col("period").is_in(list(runs)))
    # Over the range, a person's statement link points to the latest tried period that has a bonus run.
    statement_period = dict(with_run.group_by("person_id").agg(pl.col("period").max()).iter_rows())
    names = _Names()
    per_period: dict[str, dict[str, Any]] = {}
    for label, frame in rows.partition_by("period", as_dict=True, include_key=True).items():
        period = str(label[0])
        run = runs.get(period)
        per_period[period] = {
            **_figures(
                frame, names, lambda _person, run=run, period=period: (run[0], period) if run else None
            ),
            "bonus_run_id": run[0] if run else None,
            "bonus_run_status": run[1] if run else None,
        }
    whole = _figures(
        rows,
        names,
        lambda person: (
            (runs[statement_period[person]][0], statement_period[person])
            if person in statement_period
            else None
        ),
    )
    names.load()
    periods = []
    for entry in test.periods:
        if entry.get("skipped"):
            periods.append(entry)
            continue
        figures = per_period.get(entry["period"]) or _figures(_empty_rows(), names, lambda _person: None)
        periods.append({**entry, **names.fill(figures)})
    series = [
        {
            "period": p["period"],
            "people": p["people"],
            "real": p["total_real"],
            "tried": p["total_tried"],
            "delta": p["delta"],
            "delta_pct": p["delta_pct"],
        }
        for p in sorted(
            (p for p in periods if not p.get("skipped")), key=lambda p: Period.parse(p["period"]).start
        )
    ]
    summary = names.fill(whole)
    return {
        "plan": test.plan.code,
        "plan_id": test.plan.pk,
        "plan_name": test.plan.name,
        "periods": periods,
        "summary": {
            "periods_tried": len(series),
            "periods_skipped": len(periods) - len(series),
            **{key: summary[key] for key in _TOTALS},
        },
        "series": series,
        "units": summary["units"],
        "gainers": summary["gainers"],
        "losers": summary["losers"],
        "distribution": summary["distribution"],
    }


_TOTALS = ("people", "total_real", "total_tried", "delta", "delta_pct", "gained", "lost", "unchanged")


def _sum(frame: pl.DataFrame, column: str) -> Decimal:
    total = frame.get_column(column).sum() if frame.height else None
    return to_fen(total if total is not None else 0)


def pct(delta: Decimal, real: Decimal) -> Decimal | None:
    """Delta as a percentage of real, half up to 0.01; none when real is zero."""
    if not real:
        return None
    return (delta * 100 / real).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _figures(rows: pl.DataFrame, names: _Names, run_of: Any) -> dict[str, Any]:
    """Totals, units, top people and distributions of some person-periods (one period's, or the range's)."""
    real, tried = _sum(rows, "real"), _sum(rows, "tried")
    people = (
        rows.sort("period", "person_id")
        .group_by("person_id", maintain_order=True)
        .agg(
            pl.col("real").sum(),
            pl.col("tried").sum(),
            pl.col("delta").sum(),
            pl.col("unit_id").last(),
            pl.col("period").last(),
        )
    )
    gained = people.filter(pl.col("delta") > 0)
    lost = people.filter(pl.col("delta") < 0)
    units = (
        rows.group_by("unit_id")
        .agg(
            pl.col("person_id").n_unique().alias("people"),
            pl.col("real").sum(),
            pl.col("tried").sum(),
            pl.col("delta").sum(),
        )
        .sort(["delta", "unit_id"], descending=[True, False], nulls_last=True)
    )
    return {
        "people": people.height,
        "total_real": real,
        "total_tried": tried,
        "delta": tried - real,
        "delta_pct": pct(tried - real, real),
        "gained": gained.height,
        "lost": lost.height,
        "unchanged": people.height - gained.height - lost.height,
        "units": [names.unit_row(row) for row in units.iter_rows(named=True)],
        "gainers": [
            names.person_row(row, run_of(row["person_id"]))
            for row in gained.sort(["delta", "person_id"], descending=[True, False])
            .head(TOP)
            .iter_rows(named=True)
        ],
        "losers": [
            names.person_row(row, run_of(row["person_id"]))
            for row in lost.sort(["delta", "person_id"]).head(TOP).iter_rows(named=True)
        ],
        "distribution": {
            "amounts": histogram({"real": rows.get_column("real"), "tried": rows.get_column("tried")}),
            "deltas": histogram({"count": rows.get_column("delta").filter(rows.get_column("delta") != 0)}),
            "zero_deltas": int((rows.get_column("delta") == 0).sum()),
        },
    }


class _Names:
    """Collects the people and units the figures mention, then names them all with one query each."""

    def __init__(self) -> None:
        self.person_ids: set[int] = set()
        self.unit_ids: set[int] = set()
        self.people: dict[int, tuple[str, str]] = {}
        self.units: dict[int, tuple[str, str]] = {}

    def person_row(self, row: dict[str, Any], statement: tuple[int, str] | None) -> dict[str, Any]:
        """A person's figures; ``statement``: the bonus run (and its period) holding their real statement."""
        self.person_ids.add(row["person_id"])
        self.unit_ids.add(row["unit_id"])
        real, tried, delta = (to_fen(row[k]) for k in ("real", "tried", "delta"))
        return {
            "person_id": row["person_id"],
            "unit_id": row["unit_id"],
            "real": real,
            "tried": tried,
            "delta": delta,
            "delta_pct": pct(delta, real),
            "period": statement[1] if statement else row["period"],
            "bonus_run_id": statement[0] if statement else None,
        }

    def unit_row(self, row: dict[str, Any]) -> dict[str, Any]:
        self.unit_ids.add(row["unit_id"])
        real, tried, delta = (to_fen(row[k]) for k in ("real", "tried", "delta"))
        return {
            "unit_id": row["unit_id"],
            "people": row["people"],
            "real": real,
            "tried": tried,
            "delta": delta,
            "delta_pct": pct(delta, real),
        }

    def load(self) -> None:
        self.people = {
            pk: (no, name)
            for pk, no, name in Employee.objects.filter(pk__in=self.person_ids).values_list(
                "pk", "employee_no", "name"
            )
        }
        self.units = {
            pk: (name, parent or "")
            for pk, name, parent in OrgUnit.objects.filter(pk__in=self.unit_ids - {None}).values_list(
                "pk", "name", "parent__name"
            )
        }

    def _unit(self, row: dict[str, Any]) -> dict[str, Any]:
        name, parent = self.units.get(row["unit_id"], ("", ""))
        return {**row, "unit": name, "unit_parent": parent}

    def fill(self, figures: dict[str, Any]) -> dict[str, Any]:
        """The figures with every person's number and name and every unit's name (and its parent's)."""

        def person(row: dict[str, Any]) -> dict[str, Any]:
            number, name = self.people.get(row["person_id"], ("", ""))
            return self._unit({**row, "employee_no": number, "name": name})

        return {
            **figures,
            "units": [self._unit(row) for row in figures["units"]],
            "gainers": [person(row) for row in figures["gainers"]],
            "losers": [person(row) for row in figures["losers"]],
        }


def _bonus_runs(plan: IncentivePlan, labels: list[str]) -> dict[str, tuple[int, str]]:
    """Per period, the plan's bonus run a statement link should open: (id, status)."""
    best: dict[str, tuple[int, str]] = {}
    runs = (
        BonusRun.objects.filter(plan_version__plan=plan, period__in=labels)
        .order_by("-created_at", "-pk")
        .values_list("pk", "period", "status")
    )
    for pk, period, status in runs:
        if period not in best or _RUN_RANK[status] < _RUN_RANK[best[period][1]]:
            best[period] = (pk, status)
    return best


# --- histograms ---------------------------------------------------------------------------------------------------


def _nice_step(span_fen: int, bins: int) -> int:
    """The bin width in fen: 1, 2 or 5 × 10ⁿ yuan, the smallest that covers ``span`` in ``bins`` bins."""
    scale = 100
    while True:
        for mantissa in (1, 2, 5):
            if mantissa * scale * bins > span_fen:
                return mantissa * scale
        scale *= 10


def histogram(series: Mapping[str, pl.Series], bins: int = BINS) -> list[dict[str, Any]]:
    """Counts of each series (money, Decimal) on shared bins ``[low, high)`` of a round width in whole yuan;
    one dict per bin: ``low``, ``high`` and a count per series name. Empty when every series is empty."""
    fen = {name: (s.cast(MONEY) * 100).cast(pl.Int64) for name, s in series.items()}
    present = [s for s in fen.values() if s.len()]
    if not present:
        return []
    low = min(int(s.min()) for s in present)  # type: ignore[arg-type]
    high = max(int(s.max()) for s in present)  # type: ignore[arg-type]
    step = _nice_step(high - low, bins)
    start = (low // step) * step
    count = (high - start) // step + 1
    counts = {
        name: dict(((s - start) // step).value_counts().iter_rows()) if s.len() else {}
        for name, s in fen.items()
    }
    return [
        {
            "low": Decimal(start + i * step).scaleb(-2).quantize(Decimal("0.01")),
            "high": Decimal(start + (i + 1) * step).scaleb(-2).quantize(Decimal("0.01")),
            **{name: counts[name].get(i, 0) for name in fen},
        }
        for i in range(count)
    ]


# --- all person-periods, for download -------------------------------------------------------------------------


def person_rows(test: BackTest) -> tuple[list[str], list[list[Any]]]:
    """Every person and tried period: number, name, unit, real, tried, delta (for a CSV download)."""
    rows = test.rows.sort("period", "person_id")
    ids = rows.get_column("person_id").unique().to_list()
    people = {
        pk: (no, name)
        for pk, no, name in Employee.objects.filter(pk__in=ids).values_list("pk", "employee_no", "name")
    }
    unit_ids = rows.get_column("unit_id").drop_nulls().unique().to_list()
    units = dict(OrgUnit.objects.filter(pk__in=unit_ids).values_list("pk", "name"))
    header = [
        "期间 period",
        "工号 employee no",
        "姓名 name",
        "部门 unit",
        "现行 real",
        "模拟 tried",
        "差额 delta",
    ]
    out = []
    for row in rows.iter_rows(named=True):
        number, name = people.get(row["person_id"], (str(row["person_id"]), ""))
        out.append(
            [
                row["period"],
                number,
                name,
                units.get(row["unit_id"], ""),
                row["real"],
                row["tried"],
                row["delta"],
            ]
        )
    return header, out

"""A bonus run's inputs, resolved from its calculation run alone.

Inputs per person (documented for users in docs/incentives.md):

* ``score``: the person's own total score in the run; without one (staff of a functional department are scored
  as a unit), their unit's total;
* ``own:<metric>``: the metric's value for the person, else for their unit, else for the nearest ancestor unit
  that has one (a branch's finance department is measured on the branch's claims);
* ``linked:<metric>``: the mean of the metric's values at the business units linked to the person's unit by a
  link that was **confirmed when the calculation ran** (the links the calculation run stored); missing without
  one (the plan's missing-input rule applies and the statement says who must act);
* ``<own|linked>:<metric>@cohort`` (a component whose maturity rule is ``cohort``): the same, read from the
  calculation run's matured-cohort companion of the metric (the cohort whose window closed in the period);
* ``base`` (a plan whose base is ``per_person``): the person's imported base (人员基数, ``PlanBase``) in force at
  the period's start.

Beside each input ``N`` the frame carries ``N.from`` (where the value came from: the employee or unit whose value
was used, or every linked business unit with its value), ``N.provisional`` (the value is not yet mature: 暂估),
``N.why`` (why it is missing, in the statement's words) and, for a cohort input, ``N.cohort`` (which cohort).

Nothing here reads today's links, org tree or definitions for a figure: the same calculation run and plan version
give the same inputs whenever they are resolved. Only the wording of ``N.why`` names who must act now.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import polars as pl

from perflink.engine import run as engine_run
from perflink.engine.metrics.companions import COHORT_SUFFIX
from perflink.engine.periods import Period
from perflink.incentives.choices import LinkStatus
from perflink.incentives.models import Link
from perflink.metrics.calc import cohort_period
from perflink.metrics.loader import with_ancestors
from perflink.metrics.models import CalcRun, MetricDefinition
from perflink.metrics.selectors import run_frame
from perflink.org.models import OrgUnit

COHORT: Final = COHORT_SUFFIX

# Where an input's value came from, per person: the subjects whose values were used (one for ``score`` and
# ``own:``, each linked business unit for ``linked:``, with its value; null when nothing was found).
SOURCE_DTYPE: Final = pl.List(pl.Struct({"level": pl.String, "subject_id": pl.Int64, "value": pl.Float64}))


def source_column(name: str) -> str:
    """The stored inputs column that says where input ``name`` came from: ``linked:claim_cycle_days.from``."""
    return f"{name}.from"


def run_links(calc: CalcRun) -> pl.DataFrame:
    """The confirmed links the calculation run stored (:data:`engine_run.LINK_SCHEMA`).

    Runs from before links were stored with the run have none to read; they are read as having no links, so
    that a figure never depends on when a bonus was run."""
    return pl.DataFrame(
        [tuple(row) for row in (calc.rules or {}).get("links", [])],
        schema=engine_run.LINK_SCHEMA,
        orient="row",
    )


def population(
    unit_id: int | None,
    category: str,
    employment_type: str,
    period: Period,
    employees: pl.DataFrame,
    units: pl.DataFrame,
) -> pl.DataFrame:
    """``person_id, unit_id``: employees of the plan's unit subtree or unit category (and employment type),
    employed during the period, as the calculation run saw the org (its stored unit and employee frames)."""
    tree = units if "ancestors" in units.columns else with_ancestors(units)
    population = employees.join(
        tree.select(pl.col("id").alias("unit_id"), pl.col("category").alias("_category"), "ancestors"),
        on="unit_id",
        how="left",
    ).filter(
        (pl.col("hire_date") < period.end)
        & (pl.col("exit_date").is_null() | (pl.col("exit_date") >= period.start))
    )
    if unit_id:
        population = population.filter(pl.col("ancestors").list.contains(unit_id))
    if category:
        population = population.filter(pl.col("_category") == category)
    if employment_type:
        population = population.filter(pl.col("employment_type") == employment_type)
    return population.select(pl.col("id").alias("person_id"), "unit_id")


class Resolver:
    """Resolves a plan's inputs for a population frame (``person_id, unit_id``) from one calculation run."""

    def __init__(self, calc: CalcRun, period: Period, units: pl.DataFrame) -> None:
        self.calc = calc
        self.period = period
        self.values = run_frame(calc, "values")
        self.totals = run_frame(calc, "totals")
        self.parents = units.select(pl.col("id").alias("unit_id"), "parent_id")
        self.links = run_links(calc)
        self._names: dict[str, str] | None = None

    # --- wording ---------------------------------------------------------------------------------------------

    def metric_name(self, code: str) -> str:
        if self._names is None:
            self._names = dict(MetricDefinition.objects.values_list("code", "name"))
        return self._names.get(code.removesuffix(COHORT), code)

    def cohort_label(self, code: str) -> str | None:
        """Which arrivals a ``@cohort`` value read, as the calculation run computed it ("2026-07 到岗")."""
        cohort = cohort_period(self.calc, code)
        return None if cohort is None else f"{cohort.label} 到岗"

    # --- resolution ------------------------------------------------------------------------------------------

    def resolve(self, names: Sequence[str], frame: pl.DataFrame) -> dict[str, pl.DataFrame]:
        """Per input name, a frame in ``frame``'s row order: ``_value, _from, _prov, _why, _cohort``."""
        out: dict[str, pl.DataFrame] = {}
        for name in names:
            kind, _, code = name.partition(":")
            if name == "score":
                got = self._score(frame)
            elif kind == "own":
                got = self._own(frame, code)
            elif kind == "linked":
                got = self._linked(frame, code)
            else:
                continue
            cohort = self.cohort_label(code) if code.endswith(COHORT) else None
            got = got.with_columns(
                pl.col("_from").cast(SOURCE_DTYPE),
                pl.col("_prov").fill_null(False),
                pl.when(pl.col("_value").is_null()).then(pl.col("_why")).alias("_why"),
                pl.lit(cohort, dtype=pl.String).alias("_cohort"),
            )
            if code.endswith(COHORT) and not self.values.filter(pl.col("metric") == code).height:
                got = got.with_columns(
                    pl.when(pl.col("_value").is_null())
                    .then(
                        pl.lit(
                            f"计算批次 {self.calc.period} #{self.calc.number} 没有“{self.metric_name(code)}”的满期"
                            "队列值：请重新计算该期间"
                        )
                    )
                    .alias("_why")
                )
            out[name] = got.select("_value", "_from", "_prov", "_why", "_cohort")
        return out

    def _score(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The person's own total score; without one (staff of a functional unit are scored as a unit), the
        unit's."""

        def first(level: str, key: str, alias: str) -> pl.DataFrame:
            return (
                self.totals.filter(pl.col("level") == level)
                .group_by("subject_id", maintain_order=True)
                .agg(
                    pl.col("score").cast(pl.Float64).first().alias(alias),
                    pl.col("provisional").first().alias(f"{alias}_prov"),
                )
                .rename({"subject_id": key})
            )

        got = frame.join(first("employee", "person_id", "_own"), on="person_id", how="left").join(
            first("unit", "unit_id", "_unit"), on="unit_id", how="left"
        )
        return got.select(
            pl.coalesce("_own", "_unit").alias("_value"),
            pl.when(pl.col("_own").is_not_null())
            .then(_source("employee", "person_id", "_own"))
            .when(pl.col("_unit").is_not_null())
            .then(_source("unit", "unit_id", "_unit"))
            .alias("_from"),
            pl.when(pl.col("_own").is_not_null()).then("_own_prov").otherwise("_unit_prov").alias("_prov"),
            pl.lit("本人及所在部门本期都没有考核得分").alias("_why"),
        )

    def _own(self, frame: pl.DataFrame, code: str) -> pl.DataFrame:
        metric = self.values.filter(pl.col("metric") == code)
        by_person = metric.filter(pl.col("level") == "employee").select(
            pl.col("subject_id").alias("person_id"),
            pl.col("value").alias("_p"),
            pl.col("provisional").alias("_pp"),
        )
        by_unit = metric.filter(pl.col("level") == "unit").select(
            pl.col("subject_id").alias("_at"), pl.col("value").alias("_u"), pl.col("provisional").alias("_up")
        )
        got = frame.join(by_person, on="person_id", how="left")
        # Walk up the tree a few levels until a unit with a value is found; remember which unit that was.
        cursor = got.select("person_id", pl.col("unit_id").alias("_at"))
        found = pl.DataFrame(
            schema={"person_id": pl.Int64, "_at": pl.Int64, "_u": pl.Float64, "_up": pl.Boolean}
        )
        for _step in range(6):
            step = cursor.join(by_unit, on="_at", how="left")
            found = pl.concat(
                [found, step.filter(pl.col("_u").is_not_null()).select("person_id", "_at", "_u", "_up")]
            )
            cursor = (
                step.filter(pl.col("_u").is_null())
                .select("person_id", "_at")
                .join(self.parents.rename({"unit_id": "_at"}), on="_at", how="left")
                .select("person_id", pl.col("parent_id").alias("_at"))
                .filter(pl.col("_at").is_not_null())
            )
            if cursor.is_empty():
                break
        got = got.join(found, on="person_id", how="left")
        name = self.metric_name(code)
        return got.select(
            pl.coalesce("_p", "_u").alias("_value"),
            pl.when(pl.col("_p").is_not_null())
            .then(_source("employee", "person_id", "_p"))
            .when(pl.col("_u").is_not_null())
            .then(_source("unit", "_at", "_u"))
            .alias("_from"),
            pl.when(pl.col("_p").is_not_null()).then("_pp").otherwise("_up").alias("_prov"),
            pl.lit(f"本期没有“{name}”的数据（本人、所在部门及上级部门均无）").alias("_why"),
        )

    def _linked(self, frame: pl.DataFrame, code: str) -> pl.DataFrame:
        """The mean over the business units linked to the person's unit by a link the calculation run stored
        as confirmed; every such unit is a source, with its value (null when it has none: it does not count
        towards the mean). Provisional when any value in the mean is."""
        base_code = code.removesuffix(COHORT)
        links = self.links.filter(pl.col("metric") == base_code).select(
            pl.col("functional_unit_id").alias("unit_id"), "business_unit_id"
        )
        metric = self.values.filter((pl.col("metric") == code) & (pl.col("level") == "unit")).select(
            pl.col("subject_id").alias("business_unit_id"),
            pl.col("value").cast(pl.Float64),
            pl.col("provisional"),
        )
        linked = (
            links.join(metric, on="business_unit_id", how="left")
            .group_by("unit_id", maintain_order=True)
            .agg(
                pl.col("value").mean().alias("_value"),
                pl.struct(
                    pl.lit("unit").alias("level"),
                    pl.col("business_unit_id").alias("subject_id"),
                    pl.col("value"),
                ).alias("_from"),
                pl.col("provisional").filter(pl.col("value").is_not_null()).any().alias("_prov"),
                pl.col("business_unit_id").alias("_linked_units"),
            )
        )
        got = frame.join(linked, on="unit_id", how="left")
        why = self._linked_why(got, base_code)
        return got.with_columns(why.alias("_why")).select("_value", "_from", "_prov", "_why")

    def _linked_why(self, got: pl.DataFrame, code: str) -> pl.Series:
        """Why a linked input is missing, per row: who must confirm a link, or which linked units had no value."""
        name = self.metric_name(code)
        missing = got.filter(pl.col("_value").is_null())
        if missing.is_empty():
            return pl.Series("_why", [None] * got.height, dtype=pl.String)
        waiting = _waiting_for(code, set(missing.get_column("unit_id").drop_nulls().to_list()))
        unit_ids = {u for units in missing.get_column("_linked_units").drop_nulls().to_list() for u in units}
        unit_names = dict(OrgUnit.objects.filter(pk__in=unit_ids).values_list("pk", "name"))
        texts: list[str | None] = []
        for value, unit_id, units in got.select("_value", "unit_id", "_linked_units").iter_rows():
            if value is not None:
                texts.append(None)
            elif units:
                listed = "、".join(unit_names.get(u, str(u)) for u in units[:3])
                texts.append(f"联动业务部门（{listed}）本期没有“{name}”的数据")
            elif unit_id in waiting:
                texts.append(f"等待 {waiting[unit_id]} 确认")
            else:
                texts.append(f"所在部门没有已确认的“{name}”联动关系")
        return pl.Series("_why", texts, dtype=pl.String)


def _waiting_for(code: str, unit_ids: set[int]) -> dict[int, str]:
    """For functional units with a proposed (not yet confirmed) link on ``code``: who must confirm it, in the
    statement's words ("理赔部负责人（北京分公司）"). Read now: it names who must act, it changes no figure."""
    if not unit_ids:
        return {}
    rows = (
        Link.objects.filter(
            functional_unit_id__in=unit_ids, business_metric__code=code, status=LinkStatus.PROPOSED
        )
        .select_related("business_unit__parent")
        .order_by("functional_unit_id", "business_unit__code")
    )
    out: dict[int, list[str]] = {}
    for link in rows:
        unit = link.business_unit
        where = f"{unit.name}负责人" + (f"（{unit.parent.name}）" if unit.parent_id else "")
        out.setdefault(link.functional_unit_id, []).append(where)
    return {unit_id: "、".join(names) for unit_id, names in out.items()}


def _source(level: str, subject: str, value: str) -> pl.Expr:
    """A one-element source list: the subject (level, id column) whose value (column) was used."""
    return pl.concat_list(
        pl.struct(
            pl.lit(level).alias("level"),
            pl.col(subject).cast(pl.Int64).alias("subject_id"),
            pl.col(value).cast(pl.Float64).alias("value"),
        )
    )

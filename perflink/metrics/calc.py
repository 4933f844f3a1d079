"""Calculation runs: gather the definitions in force, load the period's records once, run the engine, store.

``execute`` is the whole run; ``recalculate`` is the incremental path after records arrive or change: it starts
from the previous run's stored inputs, swaps in only the changed records (read by id), and reruns the engine,
which is cheaper than reading the period again. Both write one ``CalcRun`` with its frames as Arrow IPC.
Call them through ``actions.do_calculate`` / ``actions.do_recalculate_changed`` (transaction and audit).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any

import polars as pl
from django.apps import apps
from django.db import connection
from django.db.models import Count, Max, Sum
from django.utils import timezone

from perflink.core.context import current_tenant
from perflink.core.frames import to_ipc
from perflink.engine import run as engine
from perflink.engine.calendar import CalendarOverrides, WorkCalendar
from perflink.engine.metrics import MetricSpec, parse_metric
from perflink.engine.metrics.companions import (
    COHORT_SUFFIX,
    base_code,
    companion_code,
    is_companion,
    with_cohort_companions,
)
from perflink.engine.metrics.companions import cohort_period as _cohort_period
from perflink.engine.periods import Period
from perflink.engine.scoring import parse_rule
from perflink.metrics import loader
from perflink.metrics.catalogue import catalogue, sources
from perflink.metrics.choices import CalendarDayKind, RunStatus, RunTrigger
from perflink.metrics.models import (
    CalcRun,
    CalcRunData,
    CalendarDay,
    CalendarYear,
    MetricDefinition,
    Season,
    Target,
    Template,
    TemplateVersion,
)
from perflink.metrics.selectors import input_blobs, latest_run, run_frame, run_inputs, version_in_force

MAX_CHANGES_KEPT = 200
# A template item with ``"maturity": "cohort"`` scores the metric's matured cohort (``<code>@cohort``): the
# arrivals whose window closed by the period, not the period's own, still immature arrivals.
COHORT_MATURITY = "cohort"


@dataclass
class Definitions:
    """Everything a run reads besides the records: parsed metrics and templates, targets, and their snapshot."""

    metrics: dict[str, MetricSpec]
    templates: dict[str, engine.Template]
    template_meta: dict[str, dict[str, Any]]
    targets: pl.DataFrame
    snapshot: dict[str, Any] = field(default_factory=dict)
    links: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=engine.LINK_SCHEMA))

    @property
    def rules_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.snapshot, sort_keys=True, default=str).encode()).hexdigest()


@cache
def _library_calendar() -> WorkCalendar:
    return WorkCalendar.from_chinese_calendar()


def calendar_snapshot() -> dict[str, Any]:
    """The tenant's calendar entries, as stored with every run."""
    return {
        "days": [
            [d.isoformat(), kind]
            for d, kind in CalendarDay.objects.order_by("day").values_list("day", "kind")
        ],
        "years": sorted(CalendarYear.objects.values_list("year", flat=True)),
    }


def work_calendar(snapshot: Mapping[str, Any] | None = None) -> WorkCalendar:
    """chinese-calendar's years, with the tenant's own days off, make-up days and declared years on top
    (the tenant's current entries, or those a run stored)."""
    entries = snapshot if snapshot is not None else calendar_snapshot()
    days = [(dt.date.fromisoformat(day), kind) for day, kind in entries["days"]]
    overrides = CalendarOverrides(
        days_off=frozenset(d for d, kind in days if kind == CalendarDayKind.DAY_OFF),
        working_days=frozenset(d for d, kind in days if kind == CalendarDayKind.WORKING),
        known_years=frozenset(entries["years"]),
    )
    return _library_calendar().merge(overrides)


# Parsed definitions per (tenant, period), reused while nothing they depend on has changed (see _stamp).
_DEFINITIONS: dict[tuple[int, str], tuple[str, Definitions]] = {}
_DEFINITIONS_KEPT = 64


def _stamp(period: Period) -> str:
    """A cheap digest of everything ``definitions`` reads: edits bump versions or timestamps, template
    versions are append-only, and seasons, targets and the calendar are summarised."""
    targets = Target.objects.filter(period=period.label).aggregate(
        n=Count("pk"), changed=Max("updated_at"), total=Sum("value")
    )
    parts = [
        list(MetricDefinition.objects.order_by("pk").values_list("pk", "version", "is_active", "updated_at")),
        list(Template.objects.order_by("pk").values_list("pk", "updated_at")),
        list(TemplateVersion.objects.order_by("pk").values_list("pk", flat=True)),
        list(Season.objects.order_by("pk").values_list("pk", "code", "year", "starts_on", "ends_on")),
        targets,
        calendar_snapshot(),
        confirmed_links().rows(),
        sorted(_read_as_cohorts()),
    ]
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


def confirmed_links() -> pl.DataFrame:
    """The confirmed business–function links (:data:`engine.LINK_SCHEMA`) that ``scope="linked"`` template
    items read. Links belong to the incentives app, which builds on this one: it is looked up by name so that
    metrics never imports it (and runs without links where the app is not installed)."""
    try:
        link_model = apps.get_model("incentives", "Link")
    except LookupError:
        return pl.DataFrame(schema=engine.LINK_SCHEMA)
    rows = (
        link_model.objects.filter(status="confirmed")
        .order_by("functional_unit_id", "business_unit_id", "business_metric__code")
        .values_list("functional_unit_id", "business_unit_id", "business_metric__code")
        .distinct()
    )
    return pl.DataFrame(list(rows), schema=engine.LINK_SCHEMA, orient="row")


def definitions(period: Period) -> Definitions:
    """The active metrics, each template's version in force for ``period``, and the period's targets."""
    tenant = current_tenant()
    assert tenant is not None
    key, stamp = (int(tenant.pk), period.label), _stamp(period)
    cached = _DEFINITIONS.get(key)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    defs = _build_definitions(period)
    if len(_DEFINITIONS) >= _DEFINITIONS_KEPT:
        _DEFINITIONS.pop(next(iter(_DEFINITIONS)))
    _DEFINITIONS[key] = (stamp, defs)
    return defs


# Besides template items, who reads a metric's matured cohort (``<code>@cohort``): functions registered by the apps
# built on this one (incentive plans with a cohort component), each returning the metric codes it reads so.
_COHORT_READERS: list[Callable[[], Iterable[str]]] = []


def register_cohort_reader(reader: Callable[[], Iterable[str]]) -> None:
    """Let a higher app say which metrics it reads as matured cohorts (called from its ``AppConfig.ready``)."""
    if reader not in _COHORT_READERS:
        _COHORT_READERS.append(reader)


def _read_as_cohorts() -> set[str]:
    return {code for reader in _COHORT_READERS for code in reader()}


def _build_definitions(period: Period) -> Definitions:
    cat = catalogue()
    rows = list(MetricDefinition.objects.filter(is_active=True).order_by("code"))
    plain = {m.code: parse_metric(m.code, m.definition, cat) for m in rows}
    seasons = list(Season.objects.filter(year__in=range(period.start.year - 1, period.end.year + 1)))
    chosen = []
    for template in Template.objects.prefetch_related("versions").order_by("code"):
        choice = version_in_force(template, period, seasons)
        if choice is not None:
            chosen.append((template, choice))
    # A matured cohort costs as much as its metric: computed only where a template item or a plan reads it.
    wanted = _read_as_cohorts() | {
        str(item["metric"])
        for _, choice in chosen
        for item in choice.version.items
        if item.get("maturity") == COHORT_MATURITY
    }
    metrics = with_cohort_companions(plain, only=wanted)
    templates: dict[str, engine.Template] = {}
    meta: dict[str, dict[str, Any]] = {}
    for template, choice in chosen:
        templates[template.code] = _template(template.code, choice.version.items, metrics)
        meta[template.code] = {
            "id": template.pk,
            "name": template.name,
            "level": template.level,
            "category": template.category,
            "employment_type": template.employment_type,
            "version": choice.version.number,
            "version_id": choice.version.pk,
            "reason": choice.reason,
            "covered_days": choice.covered_days,
            "items": choice.version.items,
        }
    target_rows = Target.objects.filter(period=period.label).values_list(
        "metric__code", "unit_id", "employee_id", "value"
    )
    targets = pl.DataFrame(
        [
            ("unit" if unit_id else "employee", unit_id or employee_id, code, float(value))
            for code, unit_id, employee_id, value in target_rows
        ],
        schema={"level": pl.String, "subject_id": pl.Int64, "metric": pl.String, "target": pl.Float64},
        orient="row",
    )
    links = confirmed_links()
    snapshot = {
        "metrics": {m.code: {"version": m.version, "definition": m.definition} for m in rows},
        "templates": meta,
        "targets": targets.sort("level", "subject_id", "metric").rows(),
        "calendar": calendar_snapshot(),
        "links": links.rows(),
        # The matured-cohort companions the run computes (derived from "metrics"; a run stored before they
        # existed has no such key and is reproduced without them).
        "companions": sorted(code for code in metrics if is_companion(code)),
    }
    return Definitions(
        metrics,
        templates,
        meta,
        _with_companion_targets(targets, metrics),
        snapshot,
        _with_companion_links(links, metrics),
    )


def _item_metric(item: Mapping[str, Any]) -> str:
    """The code a template item scores: the metric, or its matured cohort (``"maturity": "cohort"``)."""
    code = str(item["metric"])
    return companion_code(code) if item.get("maturity") == COHORT_MATURITY else code


def _template(
    code: str, items: Sequence[Mapping[str, Any]], metrics: Mapping[str, MetricSpec]
) -> engine.Template:
    """A template version's items as the engine scores them (items of metrics not in the run are left out)."""
    return engine.Template(
        code,
        tuple(
            engine.Item(
                metric=_item_metric(item),
                weight=Decimal(str(item["weight"])),
                rule=parse_rule(item["rule"]),
                target=None if item.get("target") in (None, "") else Decimal(str(item["target"])),
                scope=item.get("scope", "self"),
            )
            for item in items
            if _item_metric(item) in metrics
        ),
    )


def _with_companion_targets(targets: pl.DataFrame, metrics: Mapping[str, MetricSpec]) -> pl.DataFrame:
    """A matured-cohort line is scored against the period's target of its metric: the targets of every cohort
    metric repeated under its companion's code."""
    pairs = pl.DataFrame(
        [(base_code(code), code) for code in metrics if is_companion(code)],
        schema={"metric": pl.String, "companion": pl.String},
        orient="row",
    )
    extra = targets.join(pairs, on="metric", how="inner").select(
        "level", "subject_id", pl.col("companion").alias("metric"), "target"
    )
    return pl.concat([targets, extra]) if extra.height else targets


def _with_companion_links(links: pl.DataFrame, metrics: Mapping[str, MetricSpec]) -> pl.DataFrame:
    """A confirmed link on a cohort metric also links its matured cohort (a linked item with
    ``"maturity": "cohort"`` reads the business units' companion value)."""
    extra = links.filter(pl.col("metric").is_in([base_code(c) for c in metrics if is_companion(c)]))
    if extra.is_empty():
        return links
    return pl.concat([links, extra.with_columns(pl.concat_str(pl.col("metric"), pl.lit(COHORT_SUFFIX)))])


def definitions_from_snapshot(snapshot: Mapping[str, Any]) -> Definitions:
    """The definitions a run stored, rebuilt exactly (for reproducing the run)."""
    cat = catalogue()
    metrics = {
        code: parse_metric(code, item["definition"], cat) for code, item in snapshot["metrics"].items()
    }
    if "companions" in snapshot:
        metrics = with_cohort_companions(metrics, only={base_code(code) for code in snapshot["companions"]})
    templates = {
        code: _template(code, meta["items"], metrics) for code, meta in snapshot["templates"].items()
    }
    targets = pl.DataFrame(
        [tuple(row) for row in snapshot["targets"]],
        schema={"level": pl.String, "subject_id": pl.Int64, "metric": pl.String, "target": pl.Float64},
        orient="row",
    )
    links = pl.DataFrame(
        [tuple(row) for row in snapshot.get("links", [])], schema=engine.LINK_SCHEMA, orient="row"
    )
    return Definitions(
        metrics,
        templates,
        dict(snapshot["templates"]),
        _with_companion_targets(targets, metrics),
        dict(snapshot),
        _with_companion_links(links, metrics),
    )


def cohort_period(run: CalcRun, code: str) -> Period | None:
    """The period whose arrivals a cohort value of ``run`` reads, as the run computed it: for
    ``new_agent_attainment_3m@cohort`` in a 2026-10 run, 2026-07 (statements say "2026-07 到岗"). ``None`` for a
    code that is no cohort metric of the run (or a companion the run did not compute)."""
    definition = run.rules.get("metrics", {}).get(base_code(code))
    if definition is None or (is_companion(code) and code not in run.rules.get("companions", [])):
        return None
    spec = parse_metric(base_code(code), definition["definition"], catalogue())
    if spec.window.type != "cohort":
        return None
    if is_companion(code):
        spec = with_cohort_companions({spec.code: spec})[code]
    return _cohort_period(spec, Period.parse(run.period))


@dataclass(frozen=True)
class Reproduction:
    identical: bool
    differences: dict[str, int]  # frame -> rows that differ


def reproduce(run: CalcRun) -> Reproduction:
    """Compute ``run`` again from what it stored (inputs, definitions, targets, calendar, data date) and
    compare every value, line and total with what it stored."""
    period = Period.parse(run.period)
    defs = definitions_from_snapshot(run.rules)
    inputs = loader.inputs_from_records(run_inputs(run))
    result = engine.run(
        defs.metrics,
        defs.templates,
        inputs,
        assignments(defs, inputs, period),
        defs.targets,
        catalogue(),
        period,
        calendar=work_calendar(run.rules.get("calendar", {"days": [], "years": []})),
        as_of=run.as_of,
        links=defs.links,
    )
    differences = {}
    for name, frame in (("values", result.values), ("results", result.results), ("totals", result.totals)):
        stored = run_frame(run, name)
        differences[name] = (
            0
            if stored.equals(frame)
            else frame.join(stored, on=frame.columns, how="anti", nulls_equal=True).height
            + abs(stored.height - frame.height)
        )
    return Reproduction(identical=not any(differences.values()), differences=differences)


def assignments(defs: Definitions, inputs: engine.Inputs, period: Period) -> pl.DataFrame:
    """Which subjects each template scores: employees of its category (and employment type) employed during
    the period, or units of its category open during the period."""
    units = inputs.units
    employees = inputs.employees.join(
        units.select(pl.col("id").alias("unit_id"), pl.col("category").alias("unit_category")),
        on="unit_id",
        how="left",
    )
    frames = []
    for code, meta in defs.template_meta.items():
        if meta["level"] == "employee":
            chosen = employees.filter(
                (pl.col("unit_category") == meta["category"])
                & (pl.col("hire_date") < period.end)
                & (pl.col("exit_date").is_null() | (pl.col("exit_date") >= period.start))
            )
            if meta["employment_type"]:
                chosen = chosen.filter(pl.col("employment_type") == meta["employment_type"])
        else:
            chosen = units.filter(
                (pl.col("category") == meta["category"])
                & (pl.col("opened_on").is_null() | (pl.col("opened_on") < period.end))
                & (pl.col("closed_on").is_null() | (pl.col("closed_on") >= period.start))
            )
        frames.append(
            chosen.select(
                pl.lit(meta["level"]).alias("level"),
                pl.col("id").alias("subject_id"),
                pl.lit(code).alias("template"),
            )
        )
    schema = {"level": pl.String, "subject_id": pl.Int64, "template": pl.String}
    return pl.concat(frames) if frames else pl.DataFrame(schema=schema)


def _stored_inputs(run: CalcRun, kinds: Sequence[str]) -> dict[str, pl.DataFrame]:
    """Some of a run's stored input frames (reading back only what is needed)."""
    return run_inputs(run, kinds) if kinds else {}


def _next_number(period: str) -> int:
    last = CalcRun.objects.filter(period=period).order_by("-number").values_list("number", flat=True).first()
    return (last or 0) + 1


def _diff(
    previous: CalcRun | None,
    results: pl.DataFrame,
    inputs: Mapping[str, pl.DataFrame],
    old_inputs: Mapping[str, pl.DataFrame] | None = None,
    hashes: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """What changed against the previous run: results that moved, and the records behind the move.

    Kinds whose content hash equals the previous run's are skipped without reading them back.
    """
    if previous is None or previous.status != RunStatus.DONE:
        return {}
    before = run_frame(previous, "results")
    keys = ["level", "subject_id", "template", "item"]
    joined = results.select(*keys, "metric", "value", "points", "status").join(
        before.select(*keys, "value", "points", "status"),
        on=keys,
        how="full",
        suffix="_before",
        coalesce=True,
    )
    moved = joined.filter(
        ~pl.col("value").eq_missing(pl.col("value_before"))
        | ~pl.col("points").cast(pl.Float64).eq_missing(pl.col("points_before").cast(pl.Float64))
        | ~pl.col("status").eq_missing(pl.col("status_before"))
    )
    previous_hashes = previous.summary.get("input_hashes", {})
    differing = [
        kind
        for kind in inputs
        if not (hashes and kind in previous_hashes and previous_hashes[kind] == hashes.get(kind))
    ]
    if old_inputs is None:
        old_inputs = _stored_inputs(previous, differing)
    records: list[dict[str, Any]] = []
    for kind, frame in inputs.items():
        if kind not in differing or "version" not in frame.columns or kind not in old_inputs:
            continue
        if old_inputs[kind] is frame:
            continue
        now = frame.select("id", "version")
        then = old_inputs[kind].select("id", pl.col("version").alias("version_before"))
        changed = now.join(then, on="id", how="full", coalesce=True).filter(
            ~pl.col("version").eq_missing(pl.col("version_before"))
        )
        for row in changed.head(MAX_CHANGES_KEPT - len(records)).iter_rows(named=True):
            records.append({"kind": kind, **row})
    return {
        "previous_run": previous.pk,
        "results_changed": moved.height,
        "subjects_changed": moved.select("level", "subject_id").unique().height,
        "changed_records": records,
    }


def _persist(
    *,
    period: Period,
    defs: Definitions,
    records: Mapping[str, pl.DataFrame],
    result: engine.RunResult,
    trigger: str,
    actor_label: str,
    as_of: dt.date,
    previous: CalcRun | None,
    summary: dict[str, Any],
    old_inputs: Mapping[str, pl.DataFrame] | None = None,
    reuse: Mapping[str, tuple[int, int]] | None = None,
) -> CalcRun:
    """Store the run; input frames listed in ``reuse`` (kind -> stored row and its row count) are shared with
    the previous run, not copied (nor read back)."""
    reuse = reuse or {}
    # Per-kind hashes: an incremental run rehashes only the kinds that changed.
    before = (previous.summary.get("input_hashes", {}) if previous is not None else {}) if reuse else {}
    hashes = {
        kind: before[kind] if kind in reuse and kind in before else engine.fingerprint({kind: frame})
        for kind, frame in records.items()
    }
    # Kinds shared with the previous run without being read back keep their hash.
    hashes.update({kind: before[kind] for kind in reuse if kind not in hashes and kind in before})
    input_fp = hashlib.sha256(json.dumps(hashes, sort_keys=True).encode()).hexdigest()
    summary["input_hashes"] = hashes
    run_fp = hashlib.sha256(
        f"{input_fp}|{defs.rules_hash}|{period.label}|{as_of.isoformat()}|{engine.ENGINE_VERSION}".encode()
    ).hexdigest()
    summary.update(_diff(previous, result.results, records, old_inputs, hashes))
    run = CalcRun.objects.create(
        period=period.label,
        number=_next_number(period.label),
        status=RunStatus.DONE,
        trigger=trigger,
        previous=previous,
        fingerprint=run_fp,
        input_fingerprint=input_fp,
        rules=defs.snapshot,
        summary=summary,
        created_by_label=actor_label[:150],
        as_of=as_of,
    )
    frames = {f"inputs.{kind}": frame for kind, frame in records.items() if kind not in reuse}
    frames.update(values=result.values, results=result.results, totals=result.totals)
    rows = [
        CalcRunData(run=run, tenant_id=run.tenant_id, name=name, rows=f.height, data=to_ipc(f))
        for name, f in frames.items()
    ]
    rows += [
        CalcRunData(run=run, tenant_id=run.tenant_id, name=f"inputs.{kind}", rows=n, shared_id=pk)
        for kind, (pk, n) in reuse.items()
    ]
    CalcRunData.objects.bulk_create(rows)
    return run


def execute(
    period: Period,
    *,
    trigger: str = RunTrigger.MANUAL,
    actor_label: str = "",
    as_of: dt.date | None = None,
    records: Mapping[str, pl.DataFrame] | None = None,
    previous: CalcRun | None = None,
    timings: dict[str, float] | None = None,
    defs: Definitions | None = None,
    changed_kinds: set[str] | None = None,
    old_inputs: Mapping[str, pl.DataFrame] | None = None,
    reuse: Mapping[str, tuple[int, int]] | None = None,
) -> CalcRun:
    """Run every metric and template for ``period`` and store the run (inside the caller's transaction).

    With ``changed_kinds`` (and the previous run's ``records`` with the changes applied) only what those kinds
    can move is recomputed (``engine.rerun``); the caller guarantees nothing else changed.
    """
    tenant = current_tenant()
    assert tenant is not None
    as_of = as_of or timezone.localdate()
    t0 = time.perf_counter()
    defs = defs or definitions(period)
    counts: dict[str, int]
    if records is None:
        inputs, counts = loader.load(tenant.pk, defs.metrics, period)
        records = inputs.records
    else:
        inputs = loader.inputs_from_records(records)
        counts = {kind: frame.height for kind, frame in records.items()}
        if previous is not None and reuse:  # kinds shared without being read: their counts from the last run
            counts = {**previous.summary.get("records", {}), **counts}
    t1 = time.perf_counter()
    if changed_kinds is not None and previous is not None:
        result = engine.rerun(
            stored_result(previous),
            defs.metrics,
            defs.templates,
            inputs,
            assignments(defs, inputs, period),
            defs.targets,
            catalogue(),
            period,
            changed_kinds=changed_kinds,
            calendar=work_calendar(),
            as_of=as_of,
            links=defs.links,
        )
    else:
        result = engine.run(
            defs.metrics,
            defs.templates,
            inputs,
            assignments(defs, inputs, period),
            defs.targets,
            catalogue(),
            period,
            calendar=work_calendar(),
            as_of=as_of,
            links=defs.links,
        )
    t2 = time.perf_counter()
    summary: dict[str, Any] = {
        "records": counts,
        "records_total": sum(n for kind, n in counts.items() if "." not in kind),
        "values": result.values.height,
        "results": result.results.height,
        "subjects": result.totals.height,
        "missing_calendar_years": {code: sorted(years) for code, years in result.missing_years.items()},
        "provisional": int(result.results.get_column("provisional").sum()) if result.results.height else 0,
        "timings": {"load_s": round(t1 - t0, 4), "compute_s": round(t2 - t1, 4)},
        "incremental": sorted(changed_kinds) if changed_kinds is not None and previous is not None else None,
    }
    run = _persist(
        period=period,
        defs=defs,
        records=records,
        result=result,
        trigger=trigger,
        actor_label=actor_label,
        as_of=as_of,
        previous=previous or latest_run(period.label),
        summary=summary,
        old_inputs=old_inputs,
        reuse=reuse,
    )
    t3 = time.perf_counter()
    run.summary["timings"]["persist_s"] = round(t3 - t2, 4)
    run.summary["timings"]["total_s"] = round(t3 - t0, 4)
    CalcRun.objects.filter(pk=run.pk).update(summary=run.summary)
    if timings is not None:
        timings.update(load_s=t1 - t0, compute_s=t2 - t1, persist_s=t3 - t2, total_s=t3 - t0)
    return run


def _refetch(kind: str, ids: Sequence[int], defs: Definitions, period: Period) -> pl.DataFrame:
    """The current rows of ``ids`` that the run's window for ``kind`` still reaches (deleted ones are absent)."""
    source = sources()[kind]
    window = loader.plan(defs.metrics, period).get(kind)
    if window is None:
        return pl.DataFrame(schema=loader._schema(source))
    tenant = current_tenant()
    assert tenant is not None
    where, params = loader._where(source, window, period, tenant.pk)
    marks = ", ".join(["%s"] * len(ids))
    columns = ", ".join(loader._select(source, connection.vendor))
    sql = f"SELECT {columns} FROM {source.table} WHERE tenant_id = %s AND id IN ({marks}){where}"  # noqa: S608
    return loader._typed(loader._read(sql, [tenant.pk, *ids, *params], loader._schema(source)), source)


def stored_result(run: CalcRun) -> engine.RunResult:
    """A stored run's frames as the engine returned them."""
    years = run.summary.get("missing_calendar_years", {})
    return engine.RunResult(
        values=run_frame(run, "values"),
        results=run_frame(run, "results"),
        totals=run_frame(run, "totals"),
        missing_years={code: frozenset(found) for code, found in years.items()},
    )


@dataclass
class Pending:
    """A period whose latest run may be affected by changed records: its inputs with the changes applied."""

    period: Period
    previous: CalcRun
    defs: Definitions
    records: dict[str, pl.DataFrame]
    touched: bool
    before: dict[str, pl.DataFrame]  # the previous run's inputs as stored
    unchanged: dict[str, tuple[int, int]]  # kinds whose frames did not change -> (stored row, rows), shared


def apply_changes(previous: CalcRun, changed: Mapping[str, Sequence[int]]) -> Pending:
    """The previous run's stored inputs with the changed records swapped in (read by id); ``touched`` says
    whether any of them was or now is within the run's reach."""
    period = Period.parse(previous.period)
    defs = definitions(period)
    blobs = input_blobs(previous)
    # Read back only what the recalculation needs: the changed kinds, the kinds that metrics reading them
    # also read, and the roster. Everything else is shared with the previous run as stored.
    changed_set = {kind for kind, ids in changed.items() if ids}
    needed = {"employee", "unit", *changed_set}
    for spec in defs.metrics.values():
        kinds = engine.kinds_read(spec, catalogue())
        if kinds & changed_set:
            needed |= kinds
    needed |= {name for name in blobs if name.partition(".")[0] in needed}  # link frames of needed kinds
    before = _stored_inputs(previous, sorted(k for k in needed if k in blobs))
    records = dict(before)
    touched = False
    changed_kinds: set[str] = set()
    for kind, ids in changed.items():
        if kind not in records or not ids:
            continue
        id_list = list(ids)
        had = records[kind].get_column("id").is_in(id_list)
        fresh = _refetch(kind, id_list, defs, period)
        if fresh.height or bool(had.any()):
            touched = True
            changed_kinds.add(kind)
            records[kind] = pl.concat(
                [records[kind].filter(~had), fresh.select(records[kind].columns)], how="vertical_relaxed"
            )
    unchanged = {kind: blob for kind, blob in blobs.items() if kind not in changed_kinds}
    return Pending(period, previous, defs, records, touched, before, unchanged)


def recalculate(
    pending: Pending,
    changed_kinds: set[str],
    *,
    actor_label: str = "",
    as_of: dt.date | None = None,
    timings: dict[str, float] | None = None,
) -> CalcRun:
    """A new run of a period after records changed (see :func:`apply_changes`).

    Incremental when the definitions, targets and data date are those of the previous run and the roster did not
    change; otherwise the period is calculated in full from the database.
    """
    as_of = as_of or timezone.localdate()
    previous = pending.previous
    same_rules = previous.rules == json.loads(json.dumps(pending.defs.snapshot, default=str))
    incremental = same_rules and previous.as_of == as_of and not changed_kinds & {"employee", "unit"}
    if not incremental:
        return execute(
            pending.period,
            trigger=RunTrigger.DATA,
            actor_label=actor_label,
            as_of=as_of,
            previous=previous,
            timings=timings,
        )
    return execute(
        pending.period,
        trigger=RunTrigger.DATA,
        actor_label=actor_label,
        as_of=as_of,
        records=pending.records,
        previous=previous,
        timings=timings,
        defs=pending.defs,
        changed_kinds=changed_kinds,
        old_inputs=pending.before,
        reuse=pending.unchanged,
    )

"""API: metric definitions, seasons, templates, targets, calculation runs, scores and explanations."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema
from ninja.pagination import paginate

from perflink.accounts.access import scope_employees, unit_scope_q
from perflink.core.api import Pagination, errors, principal, requires
from perflink.core.context import current_actor
from perflink.core.errors import NotFound, ValidationFailed
from perflink.core.instants import from_wall_clock
from perflink.metrics.actions import (
    check_definition,
    do_calculate,
    do_publish_run,
    do_save_metric,
    do_save_season,
    do_save_template_version,
    do_set_target,
    parse_period,
)
from perflink.metrics.choices import RunTrigger
from perflink.metrics.explain import explain
from perflink.metrics.models import CalcRun, MetricDefinition, Season, Target, Template
from perflink.metrics.schemas import (
    ExplainOut,
    MetricIn,
    MetricOut,
    RunIn,
    RunOut,
    ScoreOut,
    SeasonIn,
    SeasonOut,
    TargetIn,
    TargetOut,
    TemplateOut,
    TemplateVersionIn,
    ValidateIn,
    ValidateOut,
)
from perflink.metrics.selectors import get_run, run_frame
from perflink.org.models import Employee, OrgUnit

router = Router(tags=["metrics"])


def _metric(metric_id: int) -> MetricDefinition:
    metric = MetricDefinition.objects.filter(pk=metric_id).first()
    if metric is None:
        raise NotFound("metric not found")
    return metric


@router.get("/metrics", response={200: list[MetricOut], **errors()}, summary="The metric library")
@requires("metrics.view")
@paginate(Pagination)
def list_metrics(
    request: HttpRequest, domain: str | None = None, q: str | None = None
) -> QuerySet[MetricDefinition]:
    metrics = MetricDefinition.objects.order_by("domain", "code")
    if domain:
        metrics = metrics.filter(domain=domain)
    if q:
        metrics = metrics.filter(name__icontains=q) | metrics.filter(code__icontains=q)
    return metrics


@router.post(
    "/metrics/validate",
    response={200: ValidateOut, **errors(400)},
    summary="Check a metric definition without saving",
)
@requires("metrics.manage")
def validate_metric(request: HttpRequest, body: ValidateIn) -> dict[str, Any]:
    others = {m.code: m.definition for m in MetricDefinition.objects.filter(is_active=True)}
    others[body.code] = body.definition
    try:
        check_definition(body.code, body.definition, others=others)
    except ValidationFailed as exc:
        return {"valid": False, "message": exc.message, "field": exc.field}
    return {"valid": True}


@router.get("/metrics/{metric_id}", response={200: MetricOut, **errors(404)}, summary="Read a metric")
@requires("metrics.view")
def read_metric(request: HttpRequest, metric_id: int) -> MetricDefinition:
    return _metric(metric_id)


@router.post(
    "/metrics", response={200: MetricOut, **errors(400)}, summary="Create or change a metric (by code)"
)
@requires("metrics.manage")
def save_metric(request: HttpRequest, body: MetricIn) -> MetricDefinition:
    return do_save_metric(**body.dict(), actor=current_actor())


@router.get("/seasons", response={200: list[SeasonOut], **errors()}, summary="Seasons by year")
@requires("metrics.view")
def list_seasons(request: HttpRequest, year: int | None = None) -> QuerySet[Season]:
    seasons = Season.objects.order_by("year", "starts_on")
    return seasons.filter(year=year) if year else seasons


@router.post(
    "/seasons", response={200: SeasonOut, **errors(400)}, summary="Create or change a season of a year"
)
@requires("metrics.manage")
def save_season(request: HttpRequest, body: SeasonIn) -> Season:
    return do_save_season(**body.dict(), actor=current_actor())


@router.get(
    "/templates", response={200: list[TemplateOut], **errors()}, summary="Templates and their versions"
)
@requires("metrics.view")
def list_templates(request: HttpRequest) -> QuerySet[Template]:
    return Template.objects.prefetch_related("versions").order_by("level", "category", "code")


def _template(template_id: int) -> Template:
    template = Template.objects.prefetch_related("versions").filter(pk=template_id).first()
    if template is None:
        raise NotFound("template not found")
    return template


@router.get("/templates/{template_id}", response={200: TemplateOut, **errors(404)}, summary="Read a template")
@requires("metrics.view")
def read_template(request: HttpRequest, template_id: int) -> Template:
    return _template(template_id)


@router.post(
    "/templates/{template_id}/versions",
    response={200: TemplateOut, **errors(400, 404)},
    summary="Add a version to a template",
)
@requires("metrics.manage")
def add_template_version(request: HttpRequest, template_id: int, body: TemplateVersionIn) -> Template:
    template = _template(template_id)
    do_save_template_version(template, **body.dict(), actor=current_actor())
    return _template(template_id)


@router.get("/targets", response={200: list[TargetOut], **errors()}, summary="Targets of a period")
@requires("metrics.view")
@paginate(Pagination)
def list_targets(request: HttpRequest, period: str | None = None) -> QuerySet[Target]:
    """Targets of ``period`` (default: the current month)."""
    label = parse_period(period).label if period else timezone.localdate().strftime("%Y-%m")
    return Target.objects.filter(period=label).select_related("metric").order_by("id")


@router.post(
    "/targets", response={200: dict[str, Any], **errors(400, 404)}, summary="Set or clear one target"
)
@requires("targets.manage")
def set_target(request: HttpRequest, body: TargetIn) -> dict[str, Any]:
    metric = MetricDefinition.objects.filter(code=body.metric).first()
    if metric is None:
        raise ValidationFailed(f"unknown metric {body.metric!r}", field="metric")
    unit = OrgUnit.objects.filter(pk=body.unit_id).first() if body.unit_id else None
    employee = Employee.objects.filter(pk=body.employee_id).first() if body.employee_id else None
    if body.unit_id and unit is None:
        raise NotFound("unit not found", field="unit_id")
    if body.employee_id and employee is None:
        raise NotFound("employee not found", field="employee_id")
    target = do_set_target(
        period=body.period,
        metric=metric,
        value=body.value,
        unit=unit,
        employee=employee,
        actor=current_actor(),
    )
    return {"id": target.pk if target else None, "value": str(target.value) if target else None}


def _run_out(run: CalcRun) -> dict[str, Any]:
    return {
        **{f: getattr(run, f) for f in RunOut.model_fields if f != "templates"},
        "templates": {
            code: {k: meta.get(k) for k in ("name", "version", "reason", "covered_days")}
            for code, meta in run.rules.get("templates", {}).items()
        },
    }


@router.get("/runs", response={200: list[RunOut], **errors()}, summary="Calculation runs, newest first")
@requires("calc.view")
@paginate(Pagination)
def list_runs(request: HttpRequest, period: str | None = None) -> list[dict[str, Any]]:
    runs = CalcRun.objects.order_by("-created_at", "-id")
    if period:
        runs = runs.filter(period=parse_period(period).label)
    return [_run_out(run) for run in runs[:500]]


@router.post("/runs", response={200: RunOut, **errors(400)}, summary="Calculate a period")
@requires("calc.run")
def start_run(request: HttpRequest, body: RunIn) -> dict[str, Any]:
    return _run_out(do_calculate(body.period, actor=current_actor(), trigger=RunTrigger.API))


@router.get("/runs/{run_id}", response={200: RunOut, **errors(404)}, summary="Read a run")
@requires("calc.view")
def read_run(request: HttpRequest, run_id: int) -> dict[str, Any]:
    return _run_out(get_run(run_id))


@router.post(
    "/runs/{run_id}/publish", response={200: RunOut, **errors(400, 404, 409)}, summary="Publish a run"
)
@requires("calc.publish")
def publish_run(request: HttpRequest, run_id: int) -> dict[str, Any]:
    return _run_out(do_publish_run(get_run(run_id), actor=current_actor()))


def visible_subjects(who: Any) -> tuple[set[int] | None, set[int] | None]:
    """Unit ids and employee ids the principal may see scores of (None: the whole tenant)."""
    q = unit_scope_q(who)
    if q is None:
        return None, None
    units = set(OrgUnit.objects.filter(q).values_list("pk", flat=True))
    employees = set(scope_employees(who, Employee.objects.all()).values_list("pk", flat=True))
    return units, employees


def scope_frame(frame: pl.DataFrame, who: Any) -> pl.DataFrame:
    unit_ids, employee_ids = visible_subjects(who)
    keep = pl.lit(True)
    if unit_ids is not None:
        keep = keep & ((pl.col("level") != "unit") | pl.col("subject_id").is_in(list(unit_ids)))
    if employee_ids is not None:
        keep = keep & ((pl.col("level") != "employee") | pl.col("subject_id").is_in(list(employee_ids)))
    return frame.filter(keep)


def _check_subject(level: str | None, subject_id: int) -> None:
    """A subject id of another tenant (or of nobody) is 404, like any other object."""
    exists = (level in (None, "unit") and OrgUnit.objects.filter(pk=subject_id).exists()) or (
        level in (None, "employee") and Employee.objects.filter(pk=subject_id).exists()
    )
    if not exists:
        raise NotFound("subject not found", field="subject_id")


class ScoreFilter(Schema):
    level: str | None = None
    template: str | None = None
    subject_id: int | None = None


@router.get("/runs/{run_id}/scores", response={200: list[ScoreOut], **errors(404)}, summary="Scores of a run")
@requires("calc.view")
@paginate(Pagination)
def list_scores(request: HttpRequest, run_id: int, filters: Query[ScoreFilter]) -> list[dict[str, Any]]:
    run = get_run(run_id)
    if filters.subject_id is not None:
        _check_subject(filters.level, filters.subject_id)
    totals = scope_frame(run_frame(run, "totals"), principal(request))
    for name in ("level", "template", "subject_id"):
        value = getattr(filters, name)
        if value is not None:
            totals = totals.filter(pl.col(name) == value)
    results = run_frame(run, "results").join(
        totals.select("level", "subject_id", "template"), on=["level", "subject_id", "template"], how="semi"
    )
    items: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
    for row in results.select(
        "level",
        "subject_id",
        "template",
        "metric",
        "weight",
        "value",
        "n",
        "target",
        "attainment",
        "points",
        "status",
        "provisional",
    ).iter_rows(named=True):
        key = (row.pop("level"), row.pop("subject_id"), row.pop("template"))
        items.setdefault(key, []).append(row)
    return [
        {**row, "items": items.get((row["level"], row["subject_id"], row["template"]), [])}
        for row in totals.iter_rows(named=True)
    ]


@router.get(
    "/runs/{run_id}/explain", response={200: ExplainOut, **errors(404)}, summary="Explain one number of a run"
)
@requires("calc.view")
def explain_number(
    request: HttpRequest,
    run_id: int,
    level: str | None = None,
    subject_id: int | None = None,
    metric: str | None = None,
) -> dict[str, Any]:
    run = get_run(run_id)
    if subject_id is not None:
        _check_subject(level, subject_id)
    if level is None or subject_id is None or not metric:
        raise ValidationFailed("give level, subject_id and metric", field="metric" if level else "level")
    unit_ids, employee_ids = visible_subjects(principal(request))
    allowed = unit_ids if level == "unit" else employee_ids
    if allowed is not None and subject_id not in allowed:
        raise NotFound("subject not found")
    if level not in ("unit", "employee"):
        raise ValidationFailed("level must be unit or employee", field="level")
    result = explain(run, level, subject_id, metric)
    return {
        "metric": result.metric,
        "level": result.level,
        "subject_id": result.subject_id,
        "definition": result.definition,
        "line": result.line,
        "value": result.value,
        "value_from": list(result.value_from) if result.value_from else None,
        "inputs": result.inputs,
        "record_count": result.record_count,
        "records": [_with_offsets(record) for record in result.records],
        "changed_records": result.changed_records,
    }


def _with_offsets(record: dict[str, Any]) -> dict[str, Any]:
    """A counted record with its times as instants (``+08:00``): the run holds local wall-clock times."""

    def instant(value: Any) -> Any:
        return from_wall_clock(value) if isinstance(value, dt.datetime) else value

    fields = {name: instant(value) for name, value in record["fields"].items()}
    return {**record, "date": instant(record["date"]), "fields": fields}

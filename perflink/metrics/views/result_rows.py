"""What the results pages show, built from a run's stored frames and its snapshot of the definitions: labelled
totals, scorecard lines, the best and worst scores, changed records, and the explanation of a line.

Everything here reads the run as it was computed (its frames, its template versions, its metric definitions);
only names and descriptions come from today's records. Numbers are formatted once, here, so the pages agree.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import polars as pl
from django.utils import timezone
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from perflink.core.errors import NotFound
from perflink.engine.metrics import MetricError, parse_metric
from perflink.engine.metrics.companions import COHORT_SUFFIX, base_code, is_companion
from perflink.engine.periods import Period
from perflink.ingest.kinds import KINDS
from perflink.metrics.api import scope_frame
from perflink.metrics.calc import cohort_period
from perflink.metrics.catalogue import catalogue, sources
from perflink.metrics.choices import RunStatus, SubjectLevel
from perflink.metrics.explain import Explanation, explain
from perflink.metrics.models import CalcRun, MetricDefinition, Season
from perflink.metrics.selectors import run_frame
from perflink.metrics.views.wording import describe_metric, rule_words
from perflink.org.models import Employee, OrgUnit

TOP_N = 10  # best and worst subjects per template on a run's page
CHANGES_SHOWN = 20  # changed records listed on a run's page (the run keeps up to 200)
EXPLAIN_ROWS = 50  # counted records listed under a scorecard line

COVERAGE_LABELS = {
    "complete": _("Complete"),
    "partial": _("Partial"),
    "none": _("Not scored"),
}

COVERAGE_BADGES = {"complete": "badge-green", "partial": "badge-amber", "none": "badge-gray"}

STATUS_LABELS = {
    "scored": _("Scored"),
    "insufficient_data": _("Insufficient data"),
    "missing_value": _("No value"),
    "undefined_attainment": _("No attainment"),
}

STATUS_BADGES = {
    "scored": "badge-green",
    "insufficient_data": "badge-amber",
    "missing_value": "badge-gray",
    "undefined_attainment": "badge-gray",
}


def fmt_number(value: Any, places: int = 2) -> str:
    """``80000.0`` -> ``80,000``; ``66.6667`` -> ``66.67``; ``None`` -> ``—`` (rounded half up, zeros dropped)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    try:
        number = Decimal(str(value)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    except InvalidOperation:
        return str(value)
    text = f"{number:,.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def with_unit(value: Any, unit: str) -> str:
    text = fmt_number(value)
    if text == "—" or not unit:
        return text
    return f"{text}%" if unit == "%" else f"{text} {unit}"


def fmt_cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, float | Decimal):
        return fmt_number(value)
    return str(value)


def _english() -> bool:
    return (get_language() or "").startswith("en")


class FrameRows:
    """A polars frame as a sequence of dicts for Django's Paginator (only the shown page becomes Python)."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame

    def __len__(self) -> int:
        return self.frame.height

    def __getitem__(self, index: slice) -> list[dict[str, Any]]:
        start, stop, _ = index.indices(self.frame.height)
        return self.frame.slice(start, max(stop - start, 0)).to_dicts()


LABEL_SCHEMA = {
    "level": pl.String,
    "subject_id": pl.Int64,
    "name": pl.String,
    "code": pl.String,
    "unit_id": pl.Int64,
    "unit_name": pl.String,
}


def subject_labels(frame: pl.DataFrame) -> pl.DataFrame:
    """Name, code / employee number and unit (an employee's unit, a unit's parent) of the frame's subjects."""
    rows: list[tuple[Any, ...]] = []
    emp_ids = frame.filter(pl.col("level") == "employee").get_column("subject_id").unique().to_list()
    unit_ids = frame.filter(pl.col("level") == "unit").get_column("subject_id").unique().to_list()
    if emp_ids:
        # A long id list is slower (and on SQLite limited) as IN (...): read the tenant's roster instead.
        people = Employee.objects.all() if len(emp_ids) > 500 else Employee.objects.filter(pk__in=emp_ids)
        wanted = set(emp_ids)
        rows += [
            ("employee", pk, name, no, unit_id, unit_name)
            for pk, name, no, unit_id, unit_name in people.values_list(
                "pk", "name", "employee_no", "unit_id", "unit__name"
            )
            if pk in wanted
        ]
    if unit_ids:
        units = OrgUnit.objects.all() if len(unit_ids) > 500 else OrgUnit.objects.filter(pk__in=unit_ids)
        wanted = set(unit_ids)
        rows += [
            ("unit", pk, name, code, parent_id, parent_name)
            for pk, name, code, parent_id, parent_name in units.values_list(
                "pk", "name", "code", "parent_id", "parent__name"
            )
            if pk in wanted
        ]
    return pl.DataFrame(rows, schema=LABEL_SCHEMA, orient="row")


def with_labels(frame: pl.DataFrame) -> pl.DataFrame:
    labels = subject_labels(frame)
    joined = frame.join(labels, on=["level", "subject_id"], how="left")
    return joined.with_columns(
        pl.coalesce("name", pl.format("#{}", pl.col("subject_id"))).alias("name"),
        pl.col("code").fill_null(""),
        pl.col("unit_name").fill_null(""),
    )


def metric_labels(codes: Iterable[str]) -> dict[str, MetricDefinition]:
    return {m.code: m for m in MetricDefinition.objects.filter(code__in=list(set(codes)))}


def metric_name(code: str, metrics: dict[str, MetricDefinition]) -> str:
    metric = metrics.get(code)
    return metric.name if metric else code


def season_names(codes: Iterable[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    for code, name, name_en in Season.objects.filter(code__in=list(set(codes))).values_list(
        "code", "name", "name_en"
    ):
        names[code] = (name_en if _english() and name_en else name) or code
    return names


def reason_text(reason: str, seasons: dict[str, str]) -> str:
    """Why a template version applied, in words (``season kaimenhong`` -> ``Season: 开门红``)."""
    if reason.startswith("season "):
        code = reason.removeprefix("season ")
        return gettext("Season: %(name)s") % {"name": seasons.get(code, code)}
    if reason == "date range":
        return gettext("Date range")
    return gettext("General version")


def templates_applied(run: CalcRun) -> list[dict[str, Any]]:
    """Each template of the run with the version that applied and why."""
    metas = run.rules.get("templates", {})
    seasons = season_names(
        meta.get("reason", "").removeprefix("season ")
        for meta in metas.values()
        if meta.get("reason", "").startswith("season ")
    )
    period_days = Period.parse(run.period).days
    rows = []
    for code, meta in metas.items():
        reason = meta.get("reason", "")
        rows.append(
            {
                "code": code,
                "id": meta.get("id"),
                "name": meta.get("name", code),
                "level": meta.get("level", ""),
                "level_label": SubjectLevel(meta["level"]).label
                if meta.get("level") in SubjectLevel.values
                else "",
                "version": meta.get("version"),
                "seasonal": reason.startswith("season ") or reason == "date range",
                "reason": reason_text(reason, seasons),
                "covered_days": meta.get("covered_days"),
                "period_days": period_days,
                "items": len(meta.get("items", [])),
            }
        )
    return sorted(rows, key=lambda r: (r["level"], r["name"]))


def latest_numbers() -> dict[str, int]:
    """Period -> number of its latest finished run."""
    numbers: dict[str, int] = {}
    for period, number in CalcRun.objects.filter(status=RunStatus.DONE).values_list("period", "number"):
        numbers[period] = max(number, numbers.get(period, 0))
    return numbers


def run_badges(run: CalcRun, latest: int | None) -> list[tuple[str, str, str]]:
    """(css class, label, hover text) of a run's state: failed, published, newer data, superseded, latest."""
    badges: list[tuple[str, str, str]] = []
    if run.status == RunStatus.FAILED:
        badges.append(("badge-red", gettext("Failed"), run.error[:200]))
        return badges
    if run.published_at:
        badges.append(
            (
                "badge-green badge-dot",
                gettext("Published"),
                gettext("Published %(when)s by %(who)s")
                % {
                    "when": timezone.localtime(run.published_at).strftime("%Y-%m-%d %H:%M"),
                    "who": run.published_by_label or "—",
                },
            )
        )
    if run.stale_since:
        badges.append(
            (
                "badge-amber",
                gettext("Newer data exist"),
                gettext("Records changed or a newer run was published on %(when)s; this run was not changed.")
                % {"when": timezone.localtime(run.stale_since).strftime("%Y-%m-%d %H:%M")},
            )
        )
    if latest is not None and latest > run.number:
        badges.append(
            (
                "badge-gray",
                gettext("Superseded"),
                gettext("Run #%(n)s of this period is newer.") % {"n": latest},
            )
        )
    elif not run.published_at:
        badges.append(("badge-blue", gettext("Latest, not published"), ""))
    return badges


def period_runs() -> dict[str, int]:
    """Period -> id of its latest finished run, newest period first."""
    latest: dict[str, tuple[int, int]] = {}
    for pk, period, number in CalcRun.objects.filter(status=RunStatus.DONE).values_list(
        "pk", "period", "number"
    ):
        if period not in latest or number > latest[period][0]:
            latest[period] = (number, pk)
    return {period: latest[period][1] for period in sorted(latest, reverse=True)}


def _min_counts(run: CalcRun) -> dict[tuple[str, int], int]:
    """(template, item) -> the fewest records the line needs: the item's rule, else the metric's own minimum."""
    specs: dict[str, int] = {}
    for code, snapshot in run.rules.get("metrics", {}).items():
        try:
            specs[code] = parse_metric(code, snapshot["definition"], catalogue()).effective_min_count
        except MetricError:  # a definition today's catalogue cannot read: show no minimum
            continue
    minimums: dict[tuple[str, int], int] = {}
    for template, meta in run.rules.get("templates", {}).items():
        for i, item in enumerate(meta.get("items", [])):
            rule_min = (item.get("rule") or {}).get("min_count")
            minimum = rule_min if isinstance(rule_min, int) else specs.get(item.get("metric", ""))
            if minimum is not None:
                minimums[(template, i)] = minimum
    return minimums


def scorecard_cards(
    run: CalcRun,
    level: str,
    subject_id: int,
    *,
    explain_url: Callable[[str, str], str],
) -> list[dict[str, Any]]:
    """The subject's total per template, each with its lines, ready for the template."""
    totals = run_frame(run, "totals").filter(
        (pl.col("level") == level) & (pl.col("subject_id") == subject_id)
    )
    if totals.is_empty():
        return []
    results = (
        run_frame(run, "results")
        .filter((pl.col("level") == level) & (pl.col("subject_id") == subject_id))
        .sort("template", "item")
    )
    metas = run.rules.get("templates", {})
    snapshots = run.rules.get("metrics", {})
    metrics = metric_labels(base_code(code) for code in results.get_column("metric").to_list())
    minimums = _min_counts(run)
    seasons = season_names(
        m.get("reason", "").removeprefix("season ")
        for m in metas.values()
        if m.get("reason", "").startswith("season ")
    )
    parents = dict(
        OrgUnit.objects.filter(
            pk__in=results.filter(pl.col("scope") == "parent")
            .get_column("value_subject_id")
            .unique()
            .to_list()
        ).values_list("pk", "name")
    )
    linked = linked_sources(run, results.filter(pl.col("scope") == "linked"))
    lines: dict[str, list[dict[str, Any]]] = {}
    for row in results.iter_rows(named=True):
        code = row["metric"]
        metric = metrics.get(base_code(code))  # a matured-cohort line is named after its metric
        unit = str(
            snapshots.get(base_code(code), {})
            .get("definition", {})
            .get("unit", metric.unit if metric else "")
        )
        key = f"{row['template']}-{row['item']}"
        from_parent = row["scope"] == "parent"
        name = metric.name if metric else code
        cohort = cohort_period(run, code) if is_companion(code) else None
        if cohort is not None:
            name = gettext("%(name)s · arrived %(period)s") % {"name": name, "period": cohort.label}
        lines.setdefault(row["template"], []).append(
            {
                "key": key,
                "metric": code,
                "name": name,
                "name_en": metric.name_en if metric else "",
                "weight": fmt_number(row["weight"]),
                "value": with_unit(row["value"], unit),
                "target": with_unit(row["target"], unit),
                "attainment": f"{fmt_number(row['attainment'], 1)}%"
                if row["attainment"] is not None
                else "—",
                "points": fmt_number(row["points"]),
                "status": row["status"],
                "status_label": STATUS_LABELS.get(row["status"], row["status"]),
                "status_badge": STATUS_BADGES.get(row["status"], "badge-gray"),
                "n": row["n"] or 0,
                "min_count": minimums.get((row["template"], row["item"])),
                "provisional": bool(row["provisional"]),
                "from_parent": from_parent,
                "parent_name": parents.get(row["value_subject_id"], "") if from_parent else "",
                "linked": row["scope"] == "linked",
                "linked_from": [
                    {"name": source["name"], "value": with_unit(source["value"], unit)}
                    for source in linked.get((code, row["value_subject_id"]), [])
                ]
                if row["scope"] == "linked"
                else [],
                "explain_url": explain_url(code, key),
            }
        )
    cards = []
    for total in totals.sort("template").iter_rows(named=True):
        meta = metas.get(total["template"], {})
        cards.append(
            {
                "code": total["template"],
                "name": meta.get("name", total["template"]),
                "version": meta.get("version"),
                "reason": reason_text(meta.get("reason", ""), seasons),
                "covered_days": meta.get("covered_days"),
                "score": fmt_number(total["score"]),
                "has_score": total["score"] is not None,
                "weight_scored": fmt_number(total["weight_scored"]),
                "items_scored": total["items_scored"],
                "items": total["items"],
                "coverage": total["coverage"],
                "coverage_label": COVERAGE_LABELS.get(total["coverage"], total["coverage"]),
                "coverage_badge": COVERAGE_BADGES.get(total["coverage"], "badge-gray"),
                "provisional": bool(total["provisional"]),
                "lines": lines.get(total["template"], []),
            }
        )
    return cards


def linked_sources(run: CalcRun, lines: pl.DataFrame) -> dict[tuple[str, int], list[dict[str, Any]]]:
    """For linked lines (``scope="linked"``): per (metric, functional unit), the business units linked to it by
    the confirmed links the run read, each with its value in the run (``None`` when it had none)."""
    wanted = {
        (r["metric"], r["value_subject_id"])
        for r in lines.select("metric", "value_subject_id").iter_rows(named=True)
    }
    # A link on a cohort metric also links its matured cohort (``<code>@cohort``), as the run scored it.
    pairs = [
        (f, b, code)
        for f, b, m in run.rules.get("links", [])
        for code in (m, f"{m}{COHORT_SUFFIX}")
        if (code, f) in wanted
    ]
    if not pairs:
        return {}
    business = sorted({b for _, b, _ in pairs})
    names = dict(OrgUnit.objects.filter(pk__in=business).values_list("pk", "name"))
    values = run_frame(run, "values").filter(
        (pl.col("level") == "unit") & pl.col("subject_id").is_in(business)
    )
    found = {(r["metric"], r["subject_id"]): r["value"] for r in values.iter_rows(named=True)}
    out: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for functional, business_id, metric in sorted(pairs, key=lambda p: (p[0], names.get(p[1], ""), p[1])):
        out.setdefault((metric, functional), []).append(
            {
                "id": business_id,
                "name": names.get(business_id, f"#{business_id}"),
                "value": found.get((metric, business_id)),
            }
        )
    return out


def open_line(cards: list[dict[str, Any]], metric: str, explanation: dict[str, Any]) -> None:
    """Attach an explanation to the first line of ``metric`` (the full-page fallback of an explain link)."""
    for card in cards:
        for line in card["lines"]:
            if line["metric"] == metric:
                line["explanation"] = explanation
                return


def explanation_context(
    run: CalcRun,
    level: str,
    subject_id: int,
    metric: str,
    *,
    may_see: Callable[[str, int], bool],
) -> dict[str, Any]:
    """What the explain partial shows: the definition, the line, the inputs, and the counted records.

    A line may read another subject's value (``scope="parent"``); that subject's records are listed only if
    ``may_see(level, id)`` says the reader may see that subject.
    """
    result: Explanation = explain(run, level, subject_id, metric)
    definition = result.definition
    metrics = metric_labels([base_code(metric), *result.inputs])
    current = metrics.get(base_code(metric))
    description = ""
    if current is not None:
        description = current.description_en if _english() and current.description_en else current.description
    unit = str(definition.get("unit", ""))
    line = result.line or {}
    value_from_name = ""
    linked_from: list[dict[str, Any]] = []
    if result.value_from is not None and result.value_from[0] == "linked":
        lines = run_frame(run, "results").filter(
            (pl.col("level") == level) & (pl.col("subject_id") == subject_id) & (pl.col("metric") == metric)
        )
        linked_from = [
            {**source, "value": with_unit(source["value"], unit)}
            for source in linked_sources(run, lines).get((metric, result.value_from[1]), [])
        ]
    elif result.value_from is not None:
        value_level, value_id = result.value_from
        model = OrgUnit if value_level == "unit" else Employee
        value_from_name = model.objects.filter(pk=value_id).values_list("name", flat=True).first() or ""
    inputs = []
    if result.inputs:
        value_level, value_id = result.value_from or (level, subject_id)
        values = run_frame(run, "values").filter(
            (pl.col("level") == value_level)
            & (pl.col("subject_id") == value_id)
            & pl.col("metric").is_in(result.inputs)
        )
        found = {r["metric"]: r for r in values.iter_rows(named=True)}
        snapshots = run.rules.get("metrics", {})
        for code in result.inputs:
            input_unit = str(snapshots.get(code, {}).get("definition", {}).get("unit", ""))
            row = found.get(code)
            inputs.append(
                {
                    "code": code,
                    "name": metric_name(code, metrics),
                    "known": code in snapshots,
                    "value": with_unit(row["value"], input_unit) if row else "—",
                    "n": row["n"] if row else 0,
                }
            )
    rule: dict[str, Any] = {}
    if result.line is not None:
        items = run.rules.get("templates", {}).get(line["template"], {}).get("items", [])
        if line["item"] < len(items):
            rule = items[line["item"]].get("rule") or {}
    if linked_from:  # a linked line's records are the business units': listed only if all are in scope
        hide_records = not all(may_see("unit", source["id"]) for source in linked_from)
    else:
        hide_records = result.value_from is not None and not may_see(*result.value_from)
    records = [] if hide_records else result.records[:EXPLAIN_ROWS]
    field_names: list[str] = list(records[0]["fields"]) if records else []
    return {
        "run": run,
        "metric": metric,
        "name": current.name if current else metric,
        "name_en": current.name_en if current else "",
        "description": description,
        "derived": bool(definition.get("formula")),
        "version": run.rules.get("metrics", {}).get(base_code(metric), {}).get("version"),
        "definition_rows": describe_metric(definition),
        "rule_text": rule_words(rule, str(definition.get("direction", "higher"))) if rule else "",
        "line": {
            "value": with_unit(line.get("value"), unit),
            "target": with_unit(line.get("target"), unit),
            "n": line.get("n") or 0,
            "points": fmt_number(line.get("points")),
            "status": line.get("status", ""),
            "status_label": STATUS_LABELS.get(line.get("status", ""), ""),
            "status_badge": STATUS_BADGES.get(line.get("status", ""), "badge-gray"),
        }
        if result.line
        else None,
        "value_from_name": value_from_name,
        "linked_from": linked_from,
        "inputs": inputs,
        "record_count": result.record_count,
        "records_shown": len(records),
        "hide_records": hide_records,
        "field_names": field_names,
        "show_value": any(r["value"] is not None for r in records),
        "show_hit": any(r["hit"] is not None for r in records),
        "records": [
            {
                "id": r["id"],
                "date": fmt_cell(r["date"]),
                "value": fmt_cell(r["value"]),
                "hit": r["hit"],
                "provisional": r["provisional"],
                "changed": r["changed"],
                "cells": [fmt_cell(r["fields"].get(name)) for name in field_names],
            }
            for r in records
        ],
        "changed_count": len(result.changed_records),
    }


def changed_records(run: CalcRun, changed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The changed records with their kind's label and natural key (policy number, claim number…)."""
    shown = changed[:CHANGES_SHOWN]
    keys: dict[tuple[str, int], str] = {}
    for kind in {r.get("kind", "") for r in shown}:
        spec = KINDS.get(kind)
        if spec is None:
            continue
        column = spec.field(spec.key).column
        ids = [r["id"] for r in shown if r.get("kind") == kind]
        try:
            frame = run_frame(run, f"inputs.{kind}")
        except NotFound:
            continue
        if column in frame.columns:
            for rid, key in frame.filter(pl.col("id").is_in(ids)).select("id", column).iter_rows():
                keys[(kind, rid)] = str(key)
    labels = {kind: source.label for kind, source in sources().items()}
    return [
        {
            "kind": labels.get(r.get("kind", ""), r.get("kind", "")),
            "id": r.get("id"),
            "key": keys.get((r.get("kind", ""), r.get("id")), ""),
            "before": r.get("version_before"),
            "after": r.get("version"),
        }
        for r in shown
    ]


def overview(run: CalcRun, principal: Any, templates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per template: the best and the worst scores the reader may see."""
    totals = scope_frame(run_frame(run, "totals"), principal)
    scored = totals.filter(pl.col("score").is_not_null())
    picked: list[tuple[dict[str, Any], pl.DataFrame, pl.DataFrame, int, int, str]] = []
    for template in templates:
        mine = totals.filter(pl.col("template") == template["code"])
        part = scored.filter(pl.col("template") == template["code"]).sort(
            ["score", "subject_id"], descending=[True, False]
        )
        top = part.head(TOP_N)
        bottom = part.tail(min(TOP_N, max(part.height - TOP_N, 0))).reverse()
        mean = part.get_column("score").cast(pl.Float64).mean() if part.height else None
        picked.append((template, top, bottom, mine.height, part.height, fmt_number(mean)))
    if not picked:
        return []
    frames = [f for _, top, bottom, *_ in picked for f in (top, bottom) if f.height]
    labels = subject_labels(pl.concat(frames)) if frames else pl.DataFrame(schema=LABEL_SCHEMA)
    names = {(r["level"], r["subject_id"]): r for r in labels.iter_rows(named=True)}

    def rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
        return [
            {
                **r,
                "name": names.get((r["level"], r["subject_id"]), {}).get("name") or f"#{r['subject_id']}",
                "code": names.get((r["level"], r["subject_id"]), {}).get("code") or "",
                "unit_name": names.get((r["level"], r["subject_id"]), {}).get("unit_name") or "",
                "score_text": fmt_number(r["score"]),
                "coverage_label": COVERAGE_LABELS.get(r["coverage"], r["coverage"]),
                "coverage_badge": COVERAGE_BADGES.get(r["coverage"], "badge-gray"),
            }
            for r in frame.iter_rows(named=True)
        ]

    return [
        {
            "template": template,
            "top": rows(top),
            "bottom": rows(bottom),
            "subjects": subjects,
            "scored": n_scored,
            "mean": mean,
        }
        for template, top, bottom, subjects, n_scored, mean in picked
        if subjects
    ]

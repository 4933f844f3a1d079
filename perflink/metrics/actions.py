"""Writes of the metrics app: definitions, seasons, templates, targets, the calendar, runs. One transaction each,
audited; definitions are parsed and checked by the engine before anything is written."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation

from perflink.audit.actions import record_event
from perflink.core.context import Actor
from perflink.core.errors import Conflict, NotFound, ValidationFailed
from perflink.engine import formula as formulas
from perflink.engine.metrics import MetricError, parse_metric
from perflink.engine.metrics.companions import has_companion
from perflink.engine.periods import Period, PeriodError
from perflink.engine.run import builtins_for
from perflink.engine.scoring import RuleError, parse_rule
from perflink.metrics import calc, library
from perflink.metrics.catalogue import catalogue
from perflink.metrics.choices import Domain, RunStatus, RunTrigger, Scope, TargetSource
from perflink.metrics.models import (
    CalcRun,
    CalendarDay,
    CalendarYear,
    MetricDefinition,
    Season,
    Target,
    Template,
    TemplateVersion,
)
from perflink.metrics.selectors import heads_of_affected_units, latest_run
from perflink.notify.actions import do_notify, do_publish_event
from perflink.notify.choices import Kind
from perflink.org.models import Employee, OrgUnit

BUILTIN_NAMES = frozenset(builtins_for(Period.parse("2026-01"), None))


def parse_period(label: str) -> Period:
    try:
        return Period.parse(label)
    except PeriodError as exc:
        raise ValidationFailed(str(exc), field="period") from None


# --- metric definitions -----------------------------------------------------------------------------------------


def check_definition(
    code: str, definition: Mapping[str, Any], *, others: Mapping[str, Mapping[str, Any]]
) -> None:
    """Parse a definition, and for a formula check names, types and cycles against the other metrics."""
    try:
        spec = parse_metric(code, definition, catalogue())
    except MetricError as exc:
        raise ValidationFailed(str(exc), field="definition") from None
    if not spec.is_derived:
        return
    parsed: dict[str, formulas.Formula] = {}
    try:
        parsed[code] = formulas.parse(spec.formula or "")
        for other_code, other in others.items():
            if other_code != code and "formula" in other:
                parsed[other_code] = formulas.parse(str(other["formula"]))
        base = {c for c, d in others.items() if "formula" not in d and c != code}
        formulas.check(parsed, base | BUILTIN_NAMES)
    except formulas.FormulaError as exc:
        raise ValidationFailed(f"formula: {exc}", field="definition.formula") from None


def do_save_metric(
    *,
    code: str,
    name: str,
    domain: str,
    definition: Mapping[str, Any],
    name_en: str = "",
    description: str = "",
    description_en: str = "",
    is_active: bool = True,
    actor: Actor,
) -> MetricDefinition:
    if domain not in Domain.values:
        raise ValidationFailed(f"unknown domain {domain!r}", field="domain")
    if not name.strip():
        raise ValidationFailed("a metric needs a name", field="name")
    others = {m.code: m.definition for m in MetricDefinition.objects.filter(is_active=True)}
    others[code] = dict(definition)
    check_definition(code, definition, others=others)
    with transaction.atomic():
        metric = MetricDefinition.objects.select_for_update().filter(code=code).first()
        before = None
        if metric is None:
            metric = MetricDefinition(code=code)
        else:
            before = {"definition": metric.definition, "name": metric.name, "version": metric.version}
            if metric.definition != dict(definition):
                metric.version += 1
        metric.name, metric.name_en = name.strip(), name_en.strip()
        metric.description, metric.description_en = description.strip(), description_en.strip()
        metric.domain, metric.definition, metric.is_active = domain, dict(definition), is_active
        metric.save()
        record_event(
            "metric.save",
            metric,
            before=before,
            after={"definition": metric.definition, "name": metric.name, "version": metric.version},
        )
    return metric


# --- seasons and templates --------------------------------------------------------------------------------------


def do_save_season(
    *, code: str, year: int, starts_on: dt.date, ends_on: dt.date, name: str, name_en: str = "", actor: Actor
) -> Season:
    if ends_on < starts_on:
        raise ValidationFailed("a season cannot end before it starts", field="ends_on")
    if starts_on.year != year:
        raise ValidationFailed(f"the season of {year} must start in {year}", field="starts_on")
    with transaction.atomic():
        season, created = Season.objects.get_or_create(
            code=code, year=year, defaults={"starts_on": starts_on, "ends_on": ends_on, "name": name}
        )
        before = None if created else {"starts_on": season.starts_on, "ends_on": season.ends_on}
        season.starts_on, season.ends_on, season.name, season.name_en = starts_on, ends_on, name, name_en
        season.save()
        record_event("season.save", season, before=before, after={"starts_on": starts_on, "ends_on": ends_on})
    return season


def _measured_for_units(code: str, definition: Mapping[str, Any]) -> bool:
    try:
        return parse_metric(code, dict(definition), catalogue()).subject.unit
    except MetricError:
        return False


def _is_cohort_metric(code: str, definition: Mapping[str, Any]) -> bool:
    try:
        return has_companion(parse_metric(code, dict(definition), catalogue()))
    except MetricError:
        return False


def check_items(items: Sequence[Mapping[str, Any]], level: str) -> list[dict[str, Any]]:
    """Validate a template version's items; the message names the item and the field."""
    if not items:
        raise ValidationFailed("a template needs at least one metric", field="items")
    metrics = {m.code: m for m in MetricDefinition.objects.filter(is_active=True)}
    cleaned: list[dict[str, Any]] = []
    total = Decimal(0)
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"items[{i}]"
        code = str(item.get("metric", ""))
        metric = metrics.get(code)
        if metric is None:
            raise ValidationFailed(
                f"{where}.metric: unknown or inactive metric {code!r}", field=f"{where}.metric"
            )
        if code in seen:
            raise ValidationFailed(f"{where}.metric: {code} appears twice", field=f"{where}.metric")
        seen.add(code)
        try:
            weight = Decimal(str(item.get("weight")))
        except InvalidOperation:
            raise ValidationFailed(f"{where}.weight: not a number", field=f"{where}.weight") from None
        if weight <= 0 or weight.as_tuple().exponent < -2:  # type: ignore[operator]
            raise ValidationFailed(
                f"{where}.weight: must be positive with at most 2 decimals", field=f"{where}.weight"
            )
        total += weight
        try:
            rule = parse_rule(item.get("rule") or {})
        except RuleError as exc:
            raise ValidationFailed(f"{where}.rule: {exc}", field=f"{where}.rule") from None
        direction = getattr(rule, "direction", None)
        if direction is not None and direction.value != metric.direction:
            raise ValidationFailed(
                f"{where}.rule: the metric is {metric.direction}-is-better but the rule says {direction.value}",
                field=f"{where}.rule",
            )
        target = item.get("target")
        if target not in (None, ""):
            try:
                target = str(Decimal(str(target)))
            except InvalidOperation:
                raise ValidationFailed(f"{where}.target: not a number", field=f"{where}.target") from None
        else:
            target = None
        scope = item.get("scope", Scope.SELF)
        if scope not in Scope.values:
            raise ValidationFailed(f"{where}.scope: must be self, parent or linked", field=f"{where}.scope")
        if scope == Scope.LINKED and not _measured_for_units(code, metric.definition):
            raise ValidationFailed(
                f"{where}.scope: a linked item reads the business units' value, but {code} is not measured "
                "for units",
                field=f"{where}.scope",
            )
        maturity = item.get("maturity") or ""
        if maturity not in ("", calc.COHORT_MATURITY):
            raise ValidationFailed(
                f"{where}.maturity: must be empty (the period's own value) or cohort",
                field=f"{where}.maturity",
            )
        if maturity and not _is_cohort_metric(code, metric.definition):
            raise ValidationFailed(
                f"{where}.maturity: {code} has no cohort window, so it has no matured cohort",
                field=f"{where}.maturity",
            )
        cleaned.append(
            {
                "metric": code,
                "weight": str(weight),
                "rule": dict(item["rule"]),
                "target": target,
                "scope": scope,
                # Only set when asked for, so the items of existing versions stay as they were stored.
                **({"maturity": maturity} if maturity else {}),
            }
        )
    if total != 100:
        raise ValidationFailed(f"the weights add up to {total}, not 100", field="items")
    return cleaned


def do_save_template_version(
    template: Template,
    *,
    items: Sequence[Mapping[str, Any]],
    season_code: str = "",
    valid_from: dt.date | None = None,
    valid_to: dt.date | None = None,
    note: str = "",
    actor: Actor,
) -> TemplateVersion:
    """A new version of a template (versions are never edited). Heads of the affected units are told."""
    cleaned = check_items(items, template.level)
    if season_code and (valid_from or valid_to):
        raise ValidationFailed("tie a version to a season or to dates, not both", field="season_code")
    if season_code and not Season.objects.filter(code=season_code).exists():
        raise ValidationFailed(f"unknown season {season_code!r}", field="season_code")
    if valid_from and valid_to and valid_to <= valid_from:
        raise ValidationFailed("valid until must be after valid from", field="valid_to")
    with transaction.atomic():
        Template.objects.select_for_update().filter(pk=template.pk).first()
        number = (template.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
        version = TemplateVersion.objects.create(
            template=template,
            number=number,
            season_code=season_code,
            valid_from=valid_from,
            valid_to=valid_to,
            items=cleaned,
            note=note[:200],
            created_by_label=actor.label[:150],
        )
        record_event(
            "template.version",
            version,
            after={
                "items": cleaned,
                "season_code": season_code,
                "valid_from": valid_from,
                "valid_to": valid_to,
            },
        )
        _notify_heads(template, version, actor)
    return version


def _notify_heads(template: Template, version: TemplateVersion, actor: Actor) -> None:
    """Tell the heads of the units a template scores (not the actor) about its new version, each in their
    own language, inside the action's transaction."""
    heads = [h for h in heads_of_affected_units(template) if not (actor.kind == "user" and h.pk == actor.id)]
    languages: dict[str, list[Any]] = {}
    for head in heads:
        languages.setdefault(head.preferred_language or settings.LANGUAGE_CODE, []).append(head)
    season_name = (
        Season.objects.filter(code=version.season_code)
        .order_by("-year")
        .values_list("name", flat=True)
        .first()
        if version.season_code
        else None
    )
    last_day = version.valid_to - dt.timedelta(days=1) if version.valid_to else None
    for language, group in sorted(languages.items()):
        with translation.override(language):
            if version.season_code:
                when = translation.gettext("In force in the season %(season)s.") % {
                    "season": season_name or version.season_code
                }
            elif version.valid_from and last_day:
                when = translation.gettext("In force from %(start)s to %(end)s.") % {
                    "start": version.valid_from.isoformat(),
                    "end": last_day.isoformat(),
                }
            elif version.valid_from:
                when = translation.gettext("In force from %(start)s.") % {
                    "start": version.valid_from.isoformat()
                }
            elif last_day:
                when = translation.gettext("In force until %(end)s.") % {"end": last_day.isoformat()}
            else:
                when = translation.gettext(
                    "The general version: in force outside the seasons and date ranges of other versions."
                )
            lines = [when]
            if version.note:
                lines.append(translation.gettext("Note: %(note)s") % {"note": version.note})
            lines.append(translation.gettext("Saved by %(who)s.") % {"who": actor.label})
            do_notify(
                group,
                kind=Kind.TEMPLATE_VERSION,
                title=translation.gettext("Template %(name)s has a new version v%(number)s")
                % {"name": template.name, "number": version.number},
                body="\n".join(lines),
                url=reverse("metrics:template_detail", args=[template.pk]),
                actor=actor,
            )


# --- targets ---------------------------------------------------------------------------------------------------


def do_set_target(
    *,
    period: str,
    metric: MetricDefinition,
    value: Decimal | None,
    unit: OrgUnit | None = None,
    employee: Employee | None = None,
    source: str = TargetSource.UI,
    actor: Actor,
) -> Target | None:
    """Set (or with ``value=None`` clear) one subject's target for a period."""
    label = parse_period(period).label
    if (unit is None) == (employee is None):
        raise ValidationFailed("a target belongs to one unit or one employee", field="subject")
    with transaction.atomic():
        current = Target.objects.filter(period=label, metric=metric, unit=unit, employee=employee).first()
        before = None if current is None else {"value": current.value}
        if value is None:
            if current is not None:
                current.delete()
                record_event("target.clear", metric, before=before, after={"period": label})
            return None
        if current is None:
            current = Target(period=label, metric=metric, unit=unit, employee=employee)
        current.value, current.source = value, source
        current.save()
        subject = unit.code if unit else employee.employee_no if employee else ""
        record_event(
            "target.set", current, before=before, after={"value": value, "period": label, "subject": subject}
        )
    return current


# --- calendar --------------------------------------------------------------------------------------------------


def do_set_calendar_days(
    *, year: int, days_off: Iterable[dt.date], working_days: Iterable[dt.date], source: str = "", actor: Actor
) -> CalendarYear:
    """Enter a year's holidays (休) and make-up working days (班), e.g. from the State Council notice.

    The year then counts as known: durations touching it are computed instead of being flagged.
    """
    off, work = set(days_off), set(working_days)
    if off & work:
        raise ValidationFailed(f"{sorted(off & work)[0]} is both a day off and a working day", field="days")
    for day in off | work:
        if day.year != year:
            raise ValidationFailed(f"{day} is not in {year}", field="days")
    with transaction.atomic():
        CalendarDay.objects.filter(day__year=year).delete()
        CalendarDay.objects.bulk_create(
            [CalendarDay(day=d, kind="off", tenant_id=_tenant_id()) for d in sorted(off)]
            + [CalendarDay(day=d, kind="work", tenant_id=_tenant_id()) for d in sorted(work)]
        )
        entry, _ = CalendarYear.objects.update_or_create(year=year, defaults={"source": source[:200]})
        record_event(
            "calendar.year",
            entry,
            after={"year": year, "days_off": len(off), "working_days": len(work), "source": source},
        )
    return entry


def _tenant_id() -> int:
    from perflink.core.context import current_tenant

    tenant = current_tenant()
    assert tenant is not None
    return int(tenant.pk)


# --- library ---------------------------------------------------------------------------------------------------


def do_install_library(*, years: Iterable[int], actor: Actor) -> dict[str, int]:
    """Add the product's metrics, seasons and default templates that the tenant does not have yet.

    Existing metrics and templates are left as the tenant edited them.
    """
    created = {"metrics": 0, "seasons": 0, "templates": 0}
    with transaction.atomic():
        have = set(MetricDefinition.objects.values_list("code", flat=True))
        for item in library.METRICS:
            if item.code in have:
                continue
            MetricDefinition.objects.create(
                code=item.code,
                name=item.name,
                name_en=item.name_en,
                description=item.description,
                description_en=item.description_en,
                domain=item.domain,
                definition=dict(item.definition),
                from_library=True,
            )
            created["metrics"] += 1
        for year in years:
            for season in library.SEASONS:
                _, made = Season.objects.get_or_create(
                    code=season.code,
                    year=year,
                    defaults={
                        "name": season.name,
                        "name_en": season.name_en,
                        "starts_on": dt.date(year, *season.start),
                        "ends_on": dt.date(year, *season.end),
                    },
                )
                created["seasons"] += int(made)
        have_templates = set(Template.objects.values_list("code", flat=True))
        for spec in library.TEMPLATES:
            if spec.code in have_templates:
                continue
            template = Template.objects.create(
                code=spec.code,
                name=spec.name,
                name_en=spec.name_en,
                level=spec.level,
                category=spec.category,
                employment_type=spec.employment_type,
                from_library=True,
            )
            for number, version in enumerate(spec.versions, start=1):
                TemplateVersion.objects.create(
                    template=template,
                    number=number,
                    season_code=version.season_code,
                    items=check_items(version.items, spec.level),
                    note=version.note,
                    created_by_label=actor.label[:150],
                )
            created["templates"] += 1
        record_event("metrics.library", None, after=created)
    return created


# --- runs ------------------------------------------------------------------------------------------------------


def do_calculate(
    period: str,
    *,
    actor: Actor,
    trigger: str = RunTrigger.MANUAL,
    as_of: dt.date | None = None,
    timings: dict[str, float] | None = None,
) -> CalcRun:
    """Calculate a period in full and store the run."""
    label = parse_period(period)
    if not MetricDefinition.objects.filter(is_active=True).exists():
        raise ValidationFailed(
            "no metrics defined yet: install the library or add a metric first", field="period"
        )
    with transaction.atomic():
        run = calc.execute(label, trigger=trigger, actor_label=actor.label, as_of=as_of, timings=timings)
        _mark_published_stale(run)
        record_event(
            "calc.run",
            run,
            after={
                "period": run.period,
                "number": run.number,
                "fingerprint": run.fingerprint,
                "trigger": trigger,
            },
        )
    return run


def do_recalculate_changed(
    changed: Mapping[str, Sequence[int]],
    *,
    actor: Actor,
    as_of: dt.date | None = None,
    timings: dict[str, float] | None = None,
) -> list[CalcRun]:
    """New runs for the periods whose latest run read (or would now read) any of the changed records.

    Periods without a run are left alone: nobody asked for them yet.
    """
    runs = []
    periods = sorted(set(CalcRun.objects.filter(status=RunStatus.DONE).values_list("period", flat=True)))
    for label in periods:
        previous = latest_run(label)
        if previous is None:
            continue
        pending = calc.apply_changes(previous, changed)
        if not pending.touched:
            continue
        with transaction.atomic():
            run = calc.recalculate(
                pending, set(changed), actor_label=actor.label, as_of=as_of, timings=timings
            )
            _mark_published_stale(run)
            record_event(
                "calc.run",
                run,
                after={
                    "period": run.period,
                    "number": run.number,
                    "fingerprint": run.fingerprint,
                    "trigger": "data",
                },
            )
        runs.append(run)
    return runs


def _mark_published_stale(run: CalcRun) -> None:
    """A published run is never replaced silently: it is marked as having newer data."""
    CalcRun.objects.filter(period=run.period, published_at__isnull=False, stale_since__isnull=True).exclude(
        pk=run.pk
    ).update(stale_since=timezone.now())


def do_publish_run(run: CalcRun, *, actor: Actor) -> CalcRun:
    if run.status != RunStatus.DONE:
        raise Conflict("only a finished run can be published")
    if run.published_at is not None:
        raise Conflict(f"run {run} is already published")
    newer = CalcRun.objects.filter(period=run.period, number__gt=run.number, status=RunStatus.DONE).exists()
    if newer:
        raise Conflict(f"a newer run of {run.period} exists: publish that one, or recalculate")
    with transaction.atomic():
        CalcRun.objects.filter(period=run.period, published_at__isnull=False).update(
            stale_since=timezone.now()
        )
        run.published_at = timezone.now()
        run.published_by_label = actor.label[:150]
        run.stale_since = None
        run.save(update_fields=["published_at", "published_by_label", "stale_since"])
        record_event("calc.publish", run, after={"period": run.period, "number": run.number})
        do_publish_event(
            "results.published",
            title=f"{run.period} · #{run.number}",
            url=reverse("metrics:run_detail", args=[run.pk]),
            data={"run": run.pk, "period": run.period, "number": run.number},
            actor=actor,
        )
    return run


def get_metric(code: str) -> MetricDefinition:
    metric = MetricDefinition.objects.filter(code=code).first()
    if metric is None:
        raise NotFound(f"metric {code!r} not found")
    return metric

"""Reads of the metrics app: the template version in force, runs and their stored frames."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import polars as pl
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from perflink.accounts.choices import Role
from perflink.accounts.models import User
from perflink.core.errors import NotFound
from perflink.core.frames import from_ipc
from perflink.engine.periods import Period
from perflink.metrics.choices import SubjectLevel
from perflink.metrics.models import CalcRun, CalcRunData, Season, Template, TemplateVersion
from perflink.org.models import Employee, OrgUnit


@dataclass(frozen=True)
class VersionChoice:
    """The version of a template that applies to a period, and why."""

    version: TemplateVersion
    covered_days: int
    period_days: int
    reason: str


def season_ranges(
    code: str, years: Iterable[int], seasons: Sequence[Season] | None = None
) -> list[tuple[dt.date, dt.date]]:
    """The tenant's ``[start, end)`` ranges of a season in the given years (from ``seasons`` when given)."""
    wanted = set(years)
    rows = seasons if seasons is not None else Season.objects.filter(code=code, year__in=list(wanted))
    return [
        (season.starts_on, season.ends_on + dt.timedelta(days=1))
        for season in rows
        if season.code == code and season.year in wanted
    ]


def version_in_force(
    template: Template, period: Period, seasons: Sequence[Season] | None = None
) -> VersionChoice | None:
    """The version covering most of the period's days.

    The rule, as documented to users: each season or date range keeps only its latest version, and so does the
    general (unbounded) version. A seasonal or dated version covers the period's days inside its season or range;
    the general version covers the days no other version covers. The version covering most days applies; on a tie
    a seasonal or dated version wins over the general one, then the higher version number.
    """
    latest: dict[tuple[str, dt.date | None, dt.date | None], TemplateVersion] = {}
    # Sorted in Python so a prefetched ``versions`` is used as is (pages call this per template and month).
    for version in sorted(template.versions.all(), key=lambda v: v.number):
        latest[(version.season_code, version.valid_from, version.valid_to)] = version
    years = range(period.start.year, period.end.year + 1)
    scored: list[tuple[int, int, int, TemplateVersion, str]] = []
    specific_days = 0
    general: TemplateVersion | None = None
    for (season_code, valid_from, valid_to), version in latest.items():
        if season_code:
            days = sum(
                period.overlap_days(start, end) for start, end in season_ranges(season_code, years, seasons)
            )
            reason = f"season {season_code}"
        elif valid_from or valid_to:
            days = period.overlap_days(valid_from or dt.date.min, valid_to)
            reason = "date range"
        else:
            general = version
            continue
        specific_days = max(specific_days, days)
        if days:
            scored.append((days, 1, version.number, version, reason))
    if general is not None:
        scored.append((period.days - specific_days, 0, general.number, general, "general version"))
    scored = [row for row in scored if row[0] > 0]
    if not scored:
        return None
    days, _, _, version, reason = max(scored, key=lambda row: row[:3])
    return VersionChoice(version, days, period.days, reason)


def heads_of_affected_units(template: Template) -> list[User]:
    """The active unit heads whose data scope (their unit and everything below it) holds at least one open unit
    the template concerns: a unit of its category for a unit template; for an employee template, a unit of its
    category with a current employee it scores (of its employment type, if it names one)."""
    today = timezone.localdate()
    units = OrgUnit.objects.filter(
        Q(closed_on__isnull=True) | Q(closed_on__gte=today), category=template.category
    )
    if template.level == SubjectLevel.EMPLOYEE:
        scored = Employee.objects.filter(
            Q(exit_date__isnull=True) | Q(exit_date__gte=today), unit=OuterRef("pk"), hire_date__lte=today
        )
        if template.employment_type:
            scored = scored.filter(employment_type=template.employment_type)
        units = units.filter(Exists(scored))
    in_scope = units.filter(path__startswith=OuterRef("scope_unit__path"))
    heads = User.objects.filter(role=Role.UNIT_HEAD, is_active=True, scope_unit__isnull=False)
    return list(heads.filter(Exists(in_scope)).order_by("username"))


def runs_for(period: str | None = None) -> list[CalcRun]:
    runs = CalcRun.objects.all()
    if period:
        runs = runs.filter(period=period)
    return list(runs.order_by("-created_at", "-id"))


def latest_run(period: str) -> CalcRun | None:
    return CalcRun.objects.filter(period=period, status="done").order_by("-number").first()


def get_run(run_id: int) -> CalcRun:
    run = CalcRun.objects.filter(pk=run_id).first()
    if run is None:
        raise NotFound("calculation run not found")
    return run


def _blob(row: CalcRunData) -> bytes:
    return bytes(row.shared.data if row.shared_id else row.data)  # type: ignore[union-attr]


def run_frame(run: CalcRun, name: str) -> pl.DataFrame:
    """One of a run's stored frames (``values``, ``results``, ``totals``, ``inputs.<kind>``)."""
    row = CalcRunData.objects.select_related("shared").filter(run=run, name=name).first()
    if row is None:
        raise NotFound(f"run {run} has no stored frame {name!r}")
    return from_ipc(_blob(row))


def run_inputs(run: CalcRun, kinds: Iterable[str] | None = None) -> dict[str, pl.DataFrame]:
    """The input frames of a run (all, or those of ``kinds``), by kind."""
    rows = CalcRunData.objects.select_related("shared").filter(run=run, name__startswith="inputs.")
    if kinds is not None:
        rows = rows.filter(name__in=[f"inputs.{kind}" for kind in kinds])
    return {row.name.removeprefix("inputs."): from_ipc(_blob(row)) for row in rows}


def input_blobs(run: CalcRun) -> dict[str, tuple[int, int]]:
    """The stored row holding each input frame of a run (following shared frames) and its row count, by kind."""
    rows = CalcRunData.objects.filter(run=run, name__startswith="inputs.").values_list(
        "name", "pk", "shared_id", "rows"
    )
    return {name.removeprefix("inputs."): (shared or pk, n) for name, pk, shared, n in rows}

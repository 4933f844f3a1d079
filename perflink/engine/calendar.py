"""The working-day calendar: Chinese public holidays and 调休 make-up days, vectorised over polars Series.

A :class:`WorkCalendar` says which days are working days. Monday to Friday are working days unless listed in
``holidays``; Saturday and Sunday are days off unless listed in ``workdays`` (the 调休 make-up days). It is
authoritative only for ``known_years``: a date in any other year has no calendar data, and every function here
returns null for it and names the year in ``missing_years`` instead of treating it as weekends-only.

Conventions (date-based; a Datetime is reduced to its calendar date in its own time zone, time of day ignored):

* ``working_days_between(start, end)`` is the number of working days ``d`` with ``start <= d < end``: how many
  working days elapsed. The same day is 0; Thursday to the next Monday of a plain week is 2 (Thursday and Friday).
* It is signed: when ``end < start`` the result is minus the count for ``[end, start)``. So for any ``a, b, c``,
  ``between(a, c) == between(a, b) + between(b, c)``; a negative duration points at a data error for the caller
  to flag, it is not hidden here.
* ``calendar_days_between(start, end)`` is ``end - start`` in days, signed the same way.
* A null date gives a null result.

Tenant edits come in as :class:`CalendarOverrides` (days off / working days / newly known years), e.g. a company
holiday or a year imported from the State Council notice through :func:`overrides_from_notice`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import chinese_calendar
import numpy as np
import numpy.typing as npt
import polars as pl

__all__ = [
    "CalendarGap",
    "CalendarOverrides",
    "CalendarResult",
    "WorkCalendar",
    "calendar_days_between",
    "chinese_calendar_years",
    "overrides_from_notice",
]

# Monday..Friday are working days before holidays and make-up days are applied.
_WEEKMASK = "1111100"
_SATURDAY = 5

type DateArray = npt.NDArray[np.datetime64]


class CalendarGap(Exception):
    """Raised by :meth:`CalendarResult.raise_on_gap` when dates fall in years without calendar data."""

    def __init__(self, years: Iterable[int]) -> None:
        self.years = frozenset(years)
        listed = ", ".join(str(year) for year in sorted(self.years))
        super().__init__(f"no working-day calendar for year(s) {listed}: add its holidays and make-up days")


@dataclass(frozen=True)
class CalendarResult:
    """Values computed against a calendar, and the years that had no calendar data (their rows are null)."""

    values: pl.Series
    missing_years: frozenset[int] = frozenset()

    @property
    def complete(self) -> bool:
        return not self.missing_years

    def raise_on_gap(self) -> pl.Series:
        """The values, or :class:`CalendarGap` if any row needed a year the calendar does not know."""
        if self.missing_years:
            raise CalendarGap(self.missing_years)
        return self.values


@dataclass(frozen=True)
class CalendarOverrides:
    """A tenant's edits: dates declared days off or working days, and years declared fully known."""

    days_off: frozenset[dt.date] = frozenset()
    working_days: frozenset[dt.date] = frozenset()
    known_years: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        both = self.days_off & self.working_days
        if both:
            listed = ", ".join(d.isoformat() for d in sorted(both))
            raise ValueError(f"dates both a day off and a working day: {listed}")


def _is_weekend(day: dt.date) -> bool:
    return day.weekday() >= _SATURDAY


def chinese_calendar_years() -> frozenset[int]:
    """The years the installed ``chinese_calendar`` package has data for (it raises NotImplementedError otherwise)."""
    years = {day.year for day in chinese_calendar.holidays} | {day.year for day in chinese_calendar.workdays}
    supported = set()
    for year in range(min(years), max(years) + 1):
        try:
            chinese_calendar.is_workday(dt.date(year, 1, 1))
        except NotImplementedError:
            continue
        supported.add(year)
    return frozenset(supported)


@dataclass(frozen=True)
class WorkCalendar:
    """Weekday holidays and weekend make-up working days, authoritative for ``known_years`` only."""

    holidays: frozenset[dt.date] = frozenset()
    workdays: frozenset[dt.date] = frozenset()
    known_years: frozenset[int] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        # Keep the two sets disjoint from the weekmask so busday_count and the make-up count never overlap.
        weekend_holidays = sorted(d for d in self.holidays if _is_weekend(d))
        if weekend_holidays:
            raise ValueError(f"holidays must fall on weekdays: {weekend_holidays[0].isoformat()}")
        weekday_workdays = sorted(d for d in self.workdays if not _is_weekend(d))
        if weekday_workdays:
            raise ValueError(f"make-up workdays must fall on weekends: {weekday_workdays[0].isoformat()}")

    # --- construction -------------------------------------------------------------------------------------

    @classmethod
    def from_chinese_calendar(cls, years: Iterable[int] | None = None) -> WorkCalendar:
        """Pre-fill from ``chinese_calendar`` for ``years`` (default: all it knows); unknown years stay unknown."""
        supported = chinese_calendar_years()
        known = supported if years is None else supported & frozenset(years)
        holidays = frozenset(d for d in chinese_calendar.holidays if d.year in known and not _is_weekend(d))
        workdays = frozenset(d for d in chinese_calendar.workdays if d.year in known and _is_weekend(d))
        return cls(holidays=holidays, workdays=workdays, known_years=known)

    def merge(self, overrides: CalendarOverrides) -> WorkCalendar:
        """A new calendar with the tenant's edits applied on top of this one."""
        holidays = set(self.holidays)
        workdays = set(self.workdays)
        for day in overrides.days_off:
            if _is_weekend(day):
                workdays.discard(day)  # a make-up day cancelled
            else:
                holidays.add(day)  # a (company) holiday
        for day in overrides.working_days:
            if _is_weekend(day):
                workdays.add(day)  # a make-up day
            else:
                holidays.discard(day)  # a holiday cancelled
        return WorkCalendar(
            holidays=frozenset(holidays),
            workdays=frozenset(workdays),
            known_years=self.known_years | overrides.known_years,
        )

    # --- cached numpy views -------------------------------------------------------------------------------

    @cached_property
    def _busdaycalendar(self) -> np.busdaycalendar:
        holidays = np.array(sorted(self.holidays), dtype="datetime64[D]")
        return np.busdaycalendar(weekmask=_WEEKMASK, holidays=holidays)

    @cached_property
    def _sorted_workdays(self) -> DateArray:
        return np.array(sorted(self.workdays), dtype="datetime64[D]")

    @cached_property
    def _sorted_known_years(self) -> npt.NDArray[np.int64]:
        return np.array(sorted(self.known_years), dtype=np.int64)

    # --- queries ------------------------------------------------------------------------------------------

    def unknown_years(self, dates: pl.Series) -> frozenset[int]:
        """Years present in ``dates`` (Date or Datetime) that this calendar has no data for."""
        years = _as_date(dates).dt.year().drop_nulls().unique()
        return frozenset(int(year) for year in years if int(year) not in self.known_years)

    def is_workday(self, dates: pl.Series) -> CalendarResult:
        """Boolean per date: a working day? Null for null dates and for dates in unknown years."""
        days = _as_date(dates)
        values, valid = _to_numpy(days)
        # Weekday and not a holiday, or a weekend make-up day.
        working = np.is_busday(values, busdaycal=self._busdaycalendar) | np.isin(
            values, self._sorted_workdays
        )
        years = days.dt.year().fill_null(0).to_numpy().astype(np.int64)
        known = np.isin(years, self._sorted_known_years)
        result = pl.Series(dates.name, working, dtype=pl.Boolean).set(pl.Series(~(valid & known)), None)
        return CalendarResult(result, self.unknown_years(days))

    def working_days_between(self, start: pl.Series, end: pl.Series) -> CalendarResult:
        """Working days in ``[start, end)`` per row, signed (see the module docstring); null where unknown."""
        start_days, end_days = _as_date(start), _as_date(end)
        if len(start_days) != len(end_days):
            raise ValueError(f"start has {len(start_days)} rows, end has {len(end_days)}")
        begin, begin_valid = _to_numpy(start_days)
        finish, finish_valid = _to_numpy(end_days)
        valid = begin_valid & finish_valid
        # Count over [low, high) and sign afterwards: numpy's own negative counts cover (end, start] instead.
        low, high = np.minimum(begin, finish), np.maximum(begin, finish)
        # Weekdays that are not holidays ...
        counts = np.busday_count(low, high, busdaycal=self._busdaycalendar)
        # ... plus weekend make-up days in [low, high): a difference of insertion points.
        makeup = self._sorted_workdays
        counts = counts + (np.searchsorted(makeup, high) - np.searchsorted(makeup, low))
        counts = np.where(finish < begin, -counts, counts)
        # Rows whose day span reaches into a year without data are nulled, never counted as weekends-only.
        touches_unknown, missing = self._unknown_spans(low, high, valid)
        null_mask = ~valid | touches_unknown
        result = pl.Series(start.name, counts.astype(np.int64), dtype=pl.Int64).set(
            pl.Series(null_mask), None
        )
        return CalendarResult(result, missing)

    def _unknown_spans(
        self, low: DateArray, high: DateArray, valid: npt.NDArray[np.bool_]
    ) -> tuple[npt.NDArray[np.bool_], frozenset[int]]:
        """Which rows' spans ``[low, high)`` contain a day of an unknown year, and those years."""
        has_days = valid & (high > low)
        first_year = low.astype("datetime64[Y]").astype(np.int64) + 1970
        last_year = (high - np.timedelta64(1, "D")).astype("datetime64[Y]").astype(np.int64) + 1970
        # A span of years is fully known iff it holds as many known years as it has years.
        known = self._sorted_known_years
        known_in_span = np.searchsorted(known, last_year, side="right") - np.searchsorted(known, first_year)
        touches = has_days & (known_in_span != last_year - first_year + 1)
        if not touches.any():
            return touches, frozenset()
        # Name the missing years: one vectorised pass per candidate year within the data's span.
        lo, hi = int(first_year[touches].min()), int(last_year[touches].max())
        missing = frozenset(
            year
            for year in range(lo, hi + 1)
            if year not in self.known_years
            and bool((touches & (first_year <= year) & (last_year >= year)).any())
        )
        return touches, missing


def calendar_days_between(start: pl.Series, end: pl.Series) -> pl.Series:
    """``end - start`` in whole calendar days (date-based, signed); null where either is null."""
    start_days, end_days = _as_date(start), _as_date(end)
    if len(start_days) != len(end_days):
        raise ValueError(f"start has {len(start_days)} rows, end has {len(end_days)}")
    return (end_days - start_days).dt.total_days().cast(pl.Int64).alias(start.name)


def overrides_from_notice(
    year: int, ranges: Iterable[tuple[dt.date, dt.date, Literal["休", "班"]]]
) -> CalendarOverrides:
    """Overrides from a State Council notice: inclusive ``(first, last, "休" | "班")`` ranges for ``year``.

    The year becomes known once merged; days off on weekends and working days on weekdays change nothing.
    """
    days: Mapping[str, set[dt.date]] = {"休": set(), "班": set()}
    for first, last, kind in ranges:
        if kind not in days:
            raise ValueError(f"range kind must be 休 or 班, got {kind!r}")
        if last < first:
            raise ValueError(f"range ends before it starts: {first.isoformat()}–{last.isoformat()}")
        span = (last - first).days + 1
        days[kind].update(first + dt.timedelta(days=offset) for offset in range(span))
    return CalendarOverrides(
        days_off=frozenset(days["休"]), working_days=frozenset(days["班"]), known_years=frozenset({year})
    )


def _as_date(values: pl.Series) -> pl.Series:
    """Date series as-is; Datetime reduced to its calendar date (in its own time zone)."""
    if values.dtype == pl.Date:
        return values
    if isinstance(values.dtype, pl.Datetime):
        return values.dt.date()
    raise TypeError(f"expected a Date or Datetime series, got {values.dtype} for {values.name!r}")


def _to_numpy(days: pl.Series) -> tuple[DateArray, npt.NDArray[np.bool_]]:
    """Days as datetime64[D] (nulls filled with the epoch) and a mask of the non-null rows."""
    valid = days.is_not_null().to_numpy()
    values = days.to_physical().fill_null(0).to_numpy().astype(np.int64).astype("datetime64[D]")
    return values, valid

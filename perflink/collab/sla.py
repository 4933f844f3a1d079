"""SLA clocks of demands, in Chinese working days (holidays and 调休 make-up days from the tenant's calendar).

"N working days after D" is the N-th working day strictly after the day D: a demand submitted on Wednesday
30 September 2026, just before the National Day holiday (1–7 October), with 2 working days to accept it, is due on
Friday 9 October (8 October is the first working day after the holiday). A due date is met by acting on or
before that day.

The calendar covers the years chinese-calendar and the tenant know. Beyond them a due date is still given, counting
Monday to Friday as working days, and flagged ``estimated`` so the page can say so.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from perflink.engine.calendar import WorkCalendar

# The span looked at first: long enough for any holiday run (Spring Festival, National Day) around N days.
_SLACK_DAYS = 30


def add_working_days(calendar: WorkCalendar, start: dt.date, days: int) -> tuple[dt.date, bool]:
    """The ``days``-th working day after ``start``, and whether a year without calendar data was estimated."""
    if days < 1:
        raise ValueError("days must be at least 1")
    span = days * 2 + _SLACK_DAYS
    while True:
        dates = pl.date_range(
            start + dt.timedelta(days=1), start + dt.timedelta(days=span), interval="1d", eager=True
        )
        known = calendar.is_workday(dates).values
        # Unknown years: Monday to Friday (weekday 1–5 in polars) count as working days.
        working = known.fill_null(dates.dt.weekday() <= 5)
        reached = working.cast(pl.Int64).cum_sum() >= days
        if reached.any():
            index = int(reached.arg_true()[0])
            estimated = bool(known.slice(0, index + 1).is_null().any())
            return dates[index], estimated
        span *= 2


def calendar_deadline(start: dt.date, days: int) -> dt.date:
    """A deadline in calendar days ("arrive within 10 days"): the day ``days`` after ``start``, inclusive."""
    return start + dt.timedelta(days=days)

"""Assessment periods: a month (``2026-03``), a quarter (``2026-Q1``) or a year (``2026``), as ``[start, end)``."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

__all__ = ["Period", "PeriodError", "add_months"]

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")


class PeriodError(ValueError):
    """A period label that is not ``YYYY-MM``, ``YYYY-Qn`` or ``YYYY``."""


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later (or earlier), clamped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = (dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last))


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open date range ``[start, end)`` with its label."""

    label: str
    start: dt.date
    end: dt.date

    @classmethod
    def parse(cls, label: str) -> Period:
        text = label.strip()
        if match := _MONTH.match(text):
            year, month = int(match[1]), int(match[2])
            if not 1 <= month <= 12:
                raise PeriodError(f"period {label!r}: month must be 1–12")
            start = dt.date(year, month, 1)
            return cls(f"{year:04d}-{month:02d}", start, add_months(start, 1))
        if match := _QUARTER.match(text):
            year, quarter = int(match[1]), int(match[2])
            start = dt.date(year, 3 * quarter - 2, 1)
            return cls(f"{year:04d}-Q{quarter}", start, add_months(start, 3))
        if match := _YEAR.match(text):
            year = int(match[1])
            return cls(f"{year:04d}", dt.date(year, 1, 1), dt.date(year + 1, 1, 1))
        raise PeriodError(f"period {label!r} is not YYYY-MM, YYYY-Qn or YYYY (e.g. 2026-03, 2026-Q1, 2026)")

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def months(self) -> int:
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month

    def shifted(self, months: int) -> Period:
        """The period of the same length ``months`` earlier (negative) or later."""
        return Period(
            f"{self.label}{months:+d}m", add_months(self.start, months), add_months(self.end, months)
        )

    def overlap_days(self, start: dt.date, end: dt.date | None) -> int:
        """Days of ``[start, end)`` (``end=None``: open) that fall inside this period."""
        low = max(self.start, start)
        high = self.end if end is None else min(self.end, end)
        return max((high - low).days, 0)

    def __str__(self) -> str:
        return self.label

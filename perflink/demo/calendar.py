"""The period a demo covers, as integer day and second numbers so the generator can stay in numpy.

Days are counted from 1970-01-01; times are seconds since the epoch in UTC. The insurer works on
China time (UTC+8, no daylight saving), so a local clock time is a fixed offset away.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np

DAY = 86_400
HOUR = 3_600
CHINA_OFFSET = 8 * HOUR
NA = -1  # "no value" in integer day / second columns (every real value is positive)


def month_add(month: date, n: int) -> date:
    """First day of the month `n` months after the month of `month`."""
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def last_full_month(today: date) -> date:
    """First day of the last month that has fully ended before `today`."""
    return month_add(date(today.year, today.month, 1), -1)


def parse_month(text: str) -> date:
    """'2026-10' -> date(2026, 10, 1)."""
    year, _, month = text.partition("-")
    return date(int(year), int(month), 1)


def day_number(d: date) -> int:
    return (d - date(1970, 1, 1)).days


@dataclass(frozen=True)
class Calendar:
    """`months` whole months ending with the month of `end_month`; the data is as of the next day 02:00."""

    end_month: date
    months: int

    @property
    def first_month(self) -> date:
        return month_add(self.end_month, -(self.months - 1))

    @property
    def month_start(self) -> np.ndarray:
        """Day number of each month's first day, plus one more: the first day after the period."""
        return np.array(
            [day_number(month_add(self.first_month, i)) for i in range(self.months + 1)], dtype=np.int64
        )

    @property
    def days_in_month(self) -> np.ndarray:
        return np.diff(self.month_start)

    @property
    def cal_month(self) -> np.ndarray:
        """Calendar month (1-12) of each month of the period."""
        return np.array([month_add(self.first_month, i).month for i in range(self.months)], dtype=np.int64)

    @property
    def year(self) -> np.ndarray:
        return np.array([month_add(self.first_month, i).year for i in range(self.months)], dtype=np.int64)

    @property
    def start_day(self) -> int:
        return int(self.month_start[0])

    @property
    def end_day(self) -> int:
        """The first day after the period (exclusive end)."""
        return int(self.month_start[-1])

    @property
    def as_of_second(self) -> int:
        """UTC second of the snapshot: 02:00 China time on the first day after the period."""
        return self.end_day * DAY + 2 * HOUR - CHINA_OFFSET

    @property
    def as_of(self) -> datetime:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=self.as_of_second)

    def month_of_day(self, days: np.ndarray) -> np.ndarray:
        """Index of the month each day falls in (days before the period give -1, after it `months`)."""
        return np.searchsorted(self.month_start, days, side="right") - 1

    def yyyymm(self) -> list[str]:
        return [f"{y}{m:02d}" for y, m in zip(self.year, self.cal_month, strict=True)]


def local_seconds(days: np.ndarray, seconds_of_day: np.ndarray) -> np.ndarray:
    """UTC epoch seconds of a China-time clock reading on the given days."""
    return days.astype(np.int64) * DAY + seconds_of_day.astype(np.int64) - CHINA_OFFSET


def local_day(utc_seconds: np.ndarray) -> np.ndarray:
    """China-time calendar day of UTC epoch seconds."""
    return (utc_seconds + CHINA_OFFSET) // DAY


def to_dates(days: np.ndarray) -> list[date | None]:
    out = days.astype("datetime64[D]").tolist()
    return [None if d < 0 else v for d, v in zip(days.tolist(), out, strict=True)]


def to_datetimes(seconds: np.ndarray) -> list[datetime | None]:
    out = seconds.astype("datetime64[s]").tolist()
    return [None if s < 0 else v.replace(tzinfo=UTC) for s, v in zip(seconds.tolist(), out, strict=True)]

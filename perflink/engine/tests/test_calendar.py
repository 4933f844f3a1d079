"""The working-day calendar: hand-checked holiday periods, unknown years, tenant edits, and properties."""

import datetime as dt

import chinese_calendar
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perflink.engine.calendar import (
    CalendarGap,
    CalendarOverrides,
    WorkCalendar,
    calendar_days_between,
    chinese_calendar_years,
    overrides_from_notice,
)

D = dt.date
# Pinned to the years the lock's chinese-calendar 1.11 knows, so 2027 stays unknown even after an upgrade.
KNOWN = range(2004, 2027)
CAL = WorkCalendar.from_chinese_calendar(KNOWN)


def between(calendar: WorkCalendar, start: D | None, end: D | None) -> int | None:
    result = calendar.working_days_between(pl.Series([start], dtype=pl.Date), pl.Series([end], dtype=pl.Date))
    return result.values[0]


# --- the package and pre-fill ---------------------------------------------------------------------------


def test_given_the_installed_package_then_it_knows_2004_to_2026_and_not_2027():
    years = chinese_calendar_years()
    assert frozenset(KNOWN) <= years
    assert 2003 not in years
    assert CAL.known_years == frozenset(KNOWN)


def test_given_prefill_then_holidays_are_weekdays_and_make_up_days_weekends():
    assert D(2024, 2, 12) in CAL.holidays  # Monday of Spring Festival 2024
    assert D(2024, 2, 10) not in CAL.holidays  # Saturday: already a day off
    assert {D(2024, 2, 4), D(2024, 2, 18)} <= CAL.workdays


def test_given_years_outside_the_package_then_they_stay_unknown():
    calendar = WorkCalendar.from_chinese_calendar([2025, 2030])
    assert calendar.known_years == frozenset({2025})


# --- hand-checked durations ----------------------------------------------------------------------------


def test_given_spring_festival_2024_then_only_thu_fri_and_the_sunday_make_up_day_count():
    # Feb 8 Thu, Feb 9 Fri work; Feb 10-17 off; Feb 18 (Sun) make-up day; Feb 19 is the exclusive end.
    assert between(CAL, D(2024, 2, 8), D(2024, 2, 19)) == 3


def test_given_the_week_before_spring_festival_2024_then_the_sunday_make_up_day_counts():
    # Feb 1 Thu, 2 Fri, (3 Sat off), 4 Sun make-up, 5 Mon, 6 Tue, 7 Wed.
    assert between(CAL, D(2024, 2, 1), D(2024, 2, 8)) == 6


def test_given_national_day_2025_then_its_tiaoxiu_weekend_days_count():
    # Sep 26 Fri, (27 Sat), 28 Sun make-up, 29, 30; Oct 1-8 off; Oct 9 Thu, 10 Fri, 11 Sat make-up; (12 Sun).
    assert between(CAL, D(2025, 9, 26), D(2025, 10, 13)) == 7
    assert between(CAL, D(2025, 10, 1), D(2025, 10, 9)) == 0


def test_given_a_plain_week_then_weekdays_count():
    assert between(CAL, D(2024, 3, 4), D(2024, 3, 11)) == 5  # Monday to Monday
    assert between(CAL, D(2024, 3, 7), D(2024, 3, 11)) == 2  # Thursday to Monday: Thu, Fri


def test_given_the_same_day_then_zero_even_on_a_holiday():
    assert between(CAL, D(2024, 3, 6), D(2024, 3, 6)) == 0
    assert between(CAL, D(2024, 2, 12), D(2024, 2, 12)) == 0


def test_given_end_before_start_then_the_count_is_negative():
    assert between(CAL, D(2024, 2, 19), D(2024, 2, 8)) == -3
    # Minus the count of [Fri, Sat): the Friday, not numpy's own (Fri, Sat] convention.
    assert between(CAL, D(2024, 3, 9), D(2024, 3, 8)) == -1


def test_given_a_null_date_then_the_row_is_null():
    assert between(CAL, None, D(2024, 2, 8)) is None
    assert between(CAL, D(2024, 2, 8), None) is None


def test_given_datetimes_then_their_local_dates_are_used():
    # 2024-02-07 16:30 UTC is Feb 8 00:30 in Shanghai.
    start = pl.Series([dt.datetime(2024, 2, 7, 16, 30)]).dt.replace_time_zone("UTC")
    start = start.dt.convert_time_zone("Asia/Shanghai")
    end = pl.Series([dt.datetime(2024, 2, 19, 9, 0)])
    assert CAL.working_days_between(start, end).values.to_list() == [3]


def test_given_many_rows_then_each_is_computed_and_the_name_kept():
    start = pl.Series("reported_at", [D(2024, 2, 8), D(2024, 3, 4), D(2025, 9, 26)])
    end = pl.Series("paid_at", [D(2024, 2, 19), D(2024, 3, 11), D(2025, 10, 13)])
    result = CAL.working_days_between(start, end)
    assert result.values.name == "reported_at"
    assert result.values.to_list() == [3, 5, 7]
    assert result.complete


def test_given_calendar_days_then_end_minus_start():
    start = pl.Series([D(2024, 2, 8), D(2024, 2, 19), None])
    end = pl.Series([D(2024, 2, 19), D(2024, 2, 8), D(2024, 1, 1)])
    assert calendar_days_between(start, end).to_list() == [11, -11, None]


def test_given_mismatched_lengths_or_non_dates_then_rejected():
    with pytest.raises(ValueError, match="rows"):
        CAL.working_days_between(pl.Series([D(2024, 1, 1)]), pl.Series([], dtype=pl.Date))
    with pytest.raises(TypeError, match="Date or Datetime"):
        CAL.working_days_between(pl.Series(["2024-01-01"]), pl.Series([D(2024, 1, 2)]))


# --- is_workday ------------------------------------------------------------------------------------------


def test_given_dates_then_is_workday_follows_holidays_and_make_up_days():
    dates = pl.Series([D(2024, 2, 9), D(2024, 2, 12), D(2024, 2, 17), D(2024, 2, 18), D(2024, 3, 9), None])
    result = CAL.is_workday(dates)
    assert result.values.to_list() == [True, False, False, True, False, None]
    assert result.complete


def test_given_a_date_in_an_unknown_year_then_is_workday_is_null_and_the_year_named():
    result = CAL.is_workday(pl.Series([D(2027, 1, 4), D(2026, 1, 5)]))
    assert result.values.to_list() == [None, True]
    assert result.missing_years == frozenset({2027})


# --- unknown years ---------------------------------------------------------------------------------------


def test_given_a_span_into_2027_then_the_row_is_null_and_2027_is_reported():
    start = pl.Series([D(2026, 12, 30), D(2026, 12, 28), D(2003, 12, 30)])
    end = pl.Series([D(2027, 1, 4), D(2026, 12, 30), D(2004, 1, 5)])
    result = CAL.working_days_between(start, end)
    assert result.values.to_list() == [None, 2, None]
    assert result.missing_years == frozenset({2003, 2027})
    assert CAL.unknown_years(end) == frozenset({2027})
    with pytest.raises(CalendarGap, match="2003, 2027") as raised:
        result.raise_on_gap()
    assert raised.value.years == frozenset({2003, 2027})


def test_given_an_exclusive_end_on_new_year_2027_then_no_2027_day_is_needed():
    # [Dec 30, Jan 1): Wed and Thu of 2026 only.
    assert between(CAL, D(2026, 12, 30), D(2027, 1, 1)) == 2


def test_given_a_span_over_a_whole_unknown_year_then_it_is_flagged():
    calendar = CAL.merge(CalendarOverrides(known_years=frozenset({2028})))
    result = calendar.working_days_between(pl.Series([D(2026, 6, 1)]), pl.Series([D(2028, 1, 5)]))
    assert result.values.to_list() == [None]
    assert result.missing_years == frozenset({2027})


def test_given_the_same_day_in_an_unknown_year_then_zero_days_elapsed_without_a_gap():
    result = CAL.working_days_between(pl.Series([D(2027, 6, 1)]), pl.Series([D(2027, 6, 1)]))
    assert result.values.to_list() == [0]
    assert result.complete


# --- tenant edits --------------------------------------------------------------------------------------


def test_given_a_company_holiday_then_it_is_not_a_working_day():
    calendar = CAL.merge(CalendarOverrides(days_off=frozenset({D(2024, 3, 8)})))
    assert between(calendar, D(2024, 3, 4), D(2024, 3, 11)) == 4
    assert between(CAL, D(2024, 3, 4), D(2024, 3, 11)) == 5  # the base calendar is unchanged


def test_given_a_cancelled_make_up_day_and_a_cancelled_holiday_then_both_apply():
    calendar = CAL.merge(
        CalendarOverrides(days_off=frozenset({D(2024, 2, 18)}), working_days=frozenset({D(2024, 2, 16)}))
    )
    # Feb 8, 9 and now Feb 16 (Fri); Feb 18 no longer a make-up day.
    assert between(calendar, D(2024, 2, 8), D(2024, 2, 19)) == 3
    assert D(2024, 2, 18) not in calendar.workdays
    assert D(2024, 2, 16) not in calendar.holidays


def test_given_a_state_council_notice_for_2027_then_2027_becomes_known():
    assert D(2027, 1, 1).weekday() == 4  # Friday
    # A made-up notice: New Year Jan 1-3 off, no make-up day; Spring Festival with a Sunday make-up day.
    notice = overrides_from_notice(
        2027,
        [
            (D(2027, 1, 1), D(2027, 1, 3), "休"),
            (D(2027, 2, 6), D(2027, 2, 12), "休"),
            (D(2027, 1, 31), D(2027, 1, 31), "班"),
        ],
    )
    calendar = CAL.merge(notice)
    assert 2027 in calendar.known_years
    # Dec 30 Wed, Dec 31 Thu; Jan 1 off; Jan 2-3 weekend.
    assert between(calendar, D(2026, 12, 30), D(2027, 1, 4)) == 2
    # Jan 31 (Sun) make-up, Feb 1-5 Mon-Fri; Feb 6-12 off (Feb 8-12 are weekdays).
    assert between(calendar, D(2027, 1, 31), D(2027, 2, 15)) == 6


def test_given_invalid_edits_then_rejected():
    with pytest.raises(ValueError, match="both"):
        CalendarOverrides(days_off=frozenset({D(2024, 3, 8)}), working_days=frozenset({D(2024, 3, 8)}))
    with pytest.raises(ValueError, match="weekdays"):
        WorkCalendar(holidays=frozenset({D(2024, 3, 9)}))
    with pytest.raises(ValueError, match="weekends"):
        WorkCalendar(workdays=frozenset({D(2024, 3, 8)}))
    with pytest.raises(ValueError, match="休 or 班"):
        overrides_from_notice(2027, [(D(2027, 1, 1), D(2027, 1, 1), "假")])  # type: ignore[list-item]


# --- properties -------------------------------------------------------------------------------------------

known_dates = st.dates(min_value=D(2004, 1, 1), max_value=D(2026, 12, 31))


@settings(max_examples=200, deadline=None)
@given(st.lists(known_dates, min_size=3, max_size=3))
def test_property_working_days_are_additive_over_adjacent_spans(dates):
    a, b, c = sorted(dates)
    assert between(CAL, a, c) == between(CAL, a, b) + between(CAL, b, c)  # type: ignore[operator]
    assert between(CAL, c, a) == -between(CAL, a, c)  # type: ignore[operator]


@st.composite
def short_spans(draw):
    start = draw(known_dates)
    end = start + dt.timedelta(days=draw(st.integers(min_value=-120, max_value=120)))
    return start, min(max(end, D(2004, 1, 1)), D(2026, 12, 31))


def reference_count(start: D, end: D) -> int:
    """Per-day loop against chinese_calendar itself, signed like the engine."""
    low, high = min(start, end), max(start, end)
    days = (low + dt.timedelta(days=offset) for offset in range((high - low).days))
    count = sum(chinese_calendar.is_workday(day) for day in days)
    return count if start <= end else -count


@settings(max_examples=60, deadline=None)
@given(st.lists(short_spans(), min_size=1, max_size=30))
def test_property_vectorised_count_equals_a_per_day_loop(spans):
    start = pl.Series([s for s, _ in spans], dtype=pl.Date)
    end = pl.Series([e for _, e in spans], dtype=pl.Date)
    result = CAL.working_days_between(start, end)
    assert result.complete
    assert result.values.to_list() == [reference_count(s, e) for s, e in spans]


@settings(max_examples=60, deadline=None)
@given(st.lists(known_dates, min_size=1, max_size=30))
def test_property_is_workday_equals_chinese_calendar(dates):
    result = CAL.is_workday(pl.Series(dates, dtype=pl.Date))
    assert result.values.to_list() == [chinese_calendar.is_workday(day) for day in dates]


@settings(max_examples=40, deadline=None)
@given(
    st.frozensets(st.dates(min_value=D(2024, 1, 1), max_value=D(2024, 12, 31)), max_size=20),
    st.frozensets(st.dates(min_value=D(2024, 1, 1), max_value=D(2024, 12, 31)), max_size=20),
    st.lists(st.tuples(st.dates(D(2024, 1, 1), D(2024, 12, 31)), st.dates(D(2024, 1, 1), D(2024, 12, 31)))),
)
def test_property_after_tenant_edits_the_count_equals_summed_is_workday(days_off, working_days, spans):
    calendar = CAL.merge(CalendarOverrides(days_off=days_off - working_days, working_days=working_days))
    for day in working_days:
        assert calendar.is_workday(pl.Series([day])).values[0] is True
    for day in days_off - working_days:
        assert calendar.is_workday(pl.Series([day])).values[0] is False
    for start, end in spans:
        low, high = min(start, end), max(start, end)
        days = pl.date_range(low, high, eager=True)[:-1]
        expected = int(calendar.is_workday(days).values.sum() or 0)
        assert between(calendar, start, end) == (expected if start <= end else -expected)

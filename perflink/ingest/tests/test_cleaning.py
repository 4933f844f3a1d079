"""Every cleaning rule, on hand-written cells, with the counts the report shows."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl
import pytest

from perflink.ingest.cleaning import Refs, clean_frame
from perflink.ingest.kinds import KINDS

REFS = Refs(
    employees=pl.DataFrame({"code": ["A001", "A002"], "id": [1, 2]}),
    units=pl.DataFrame({"code": ["U1", "U2"], "id": [10, 20]}),
)


def _policy(**cols: list) -> pl.DataFrame:
    n = len(next(iter(cols.values())))
    base = {
        "_row": list(range(2, n + 2)),
        "policy_no": [f"P{i}" for i in range(n)],
        "product_line": ["寿险"] * n,
        "agent": ["A001"] * n,
        "unit": ["U1"] * n,
        "applied_on": ["2024-01-05"] * n,
        "first_year_premium": ["100"] * n,
        "annualised_premium": ["100"] * n,
        "status": ["有效"] * n,
    }
    base.update(cols)
    return pl.DataFrame(base, schema_overrides={"_row": pl.Int64})


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("2024-01-05", date(2024, 1, 5)),
        ("2024/1/5", date(2024, 1, 5)),
        ("2024.1.5", date(2024, 1, 5)),
        ("2024年1月5日", date(2024, 1, 5)),
        ("20240105", date(2024, 1, 5)),
        ("45296", date(2024, 1, 5)),  # Excel serial number
        ("２０２４－０１－０５", date(2024, 1, 5)),  # full-width
        ("  2024-01-05\u3000", date(2024, 1, 5)),
    ],
)
def test_date_spellings(cell: str, expected: date) -> None:
    result = clean_frame(_policy(applied_on=[cell]), KINDS["policy"], REFS)
    assert result.errors.height == 0, result.errors
    assert result.frame["applied_on"][0] == expected


def test_times_are_beijing_local_and_stored_in_utc() -> None:
    raw = pl.DataFrame(
        {
            "_row": [2, 3, 4],
            "claim_no": ["C1", "C2", "C3"],
            "line": ["车险"] * 3,
            "handler": ["A001"] * 3,
            "unit": ["U1"] * 3,
            "reported_at": ["2024/1/5 13:30", "45296.5", "2024-01-05T13:30:00+08:00"],
            "amount_claimed": ["1"] * 3,
        },
        schema_overrides={"_row": pl.Int64},
    )
    result = clean_frame(raw, KINDS["claim"], REFS)
    assert result.frame["reported_at"].to_list() == [
        datetime(2024, 1, 5, 5, 30, tzinfo=UTC),
        datetime(2024, 1, 5, 4, 0, tzinfo=UTC),
        datetime(2024, 1, 5, 5, 30, tzinfo=UTC),
    ]


def test_invalid_dates_are_errors_with_row_column_and_value() -> None:
    result = clean_frame(
        _policy(applied_on=["2024-02-30", "soon"]), KINDS["policy"], REFS, headers={"applied_on": "投保日期"}
    )
    assert result.errors.select("_row", "column", "value").rows() == [
        (2, "投保日期", "2024-02-30"),
        (3, "投保日期", "soon"),
    ]
    assert result.frame.height == 0


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("1,234.50", Decimal("1234.50")),
        ("¥1,234.5", Decimal("1234.50")),
        ("￥２００", Decimal("200.00")),
        ("RMB 300", Decimal("300.00")),
        ("300元", Decimal("300.00")),
        ("1.5万", Decimal("15000.00")),
        ("2万元", Decimal("20000.00")),
        ("12，345", Decimal("12345.00")),
    ],
)
def test_amounts(cell: str, expected: Decimal) -> None:
    result = clean_frame(_policy(first_year_premium=[cell]), KINDS["policy"], REFS)
    assert result.errors.height == 0, result.errors
    assert result.frame["first_year_premium"][0] == expected


def test_given_amounts_with_more_than_two_decimals_when_cleaned_then_rounded_half_up_to_the_fen_and_counted() -> (
    None
):
    result = clean_frame(
        _policy(
            first_year_premium=[
                "115744.7737",
                "0.125",
                "2.675",
                "1.2345678万",
                "0.30000000000000004",
                "88.10",
            ],
            annualised_premium=["100.005", "100", "100", "100", "100", "100"],
        ),
        KINDS["policy"],
        REFS,
    )
    assert result.errors.height == 0, result.errors
    assert result.frame["first_year_premium"].to_list() == [
        Decimal("115744.77"),
        Decimal("0.13"),
        Decimal("2.68"),
        Decimal("12345.68"),
        Decimal("0.30"),
        Decimal("88.10"),
    ]
    assert result.frame["annualised_premium"][0] == Decimal("100.01")
    assert result.rounded == {"first_year_premium": 5, "annualised_premium": 1}
    assert result.rules["fen_rounding"] == 6


def test_given_text_or_an_amount_too_large_when_cleaned_then_the_cell_is_refused_with_its_reason() -> None:
    result = clean_frame(
        _policy(first_year_premium=["abc", "123456789012345678", "99999999999999.994"]), KINDS["policy"], REFS
    )
    assert result.errors.select("_row", "reason").rows() == [
        (2, "not an amount"),
        (3, "too large for an amount (at most 14 digits before the point)"),
    ]
    assert result.frame["first_year_premium"].to_list() == [Decimal("99999999999999.99")]


def test_enum_synonyms_and_satisfaction_words() -> None:
    raw = pl.DataFrame(
        {
            "_row": [2, 3, 4, 5],
            "claim_no": ["C1", "C2", "C3", "C4"],
            "line": ["车险", "AUTO", "财产险", "寿险"],
            "handler": ["A001"] * 4,
            "unit": ["U1"] * 4,
            "reported_at": ["2024-01-05"] * 4,
            "amount_claimed": ["1"] * 4,
            "satisfaction": ["满意", "一般", "不满意", "4"],
        },
        schema_overrides={"_row": pl.Int64},
    )
    result = clean_frame(raw, KINDS["claim"], REFS)
    assert result.frame["line"].to_list() == ["auto", "auto", "property", "life"]
    assert result.frame["satisfaction"].to_list() == [5, 3, 1, 4]
    assert result.rules["enum_synonym"] == 4 + 3  # AUTO counts (case), plus 3 words


def test_yes_no_words() -> None:
    raw = pl.DataFrame(
        {
            "_row": [2, 3, 4, 5, 6],
            "external_id": list("abcde"),
            "employee": ["A001"] * 5,
            "course": ["产品知识"] * 5,
            "passed": ["是", "否", "Y", "n", "通过"],
        },
        schema_overrides={"_row": pl.Int64},
    )
    result = clean_frame(raw, KINDS["training"], REFS)
    assert result.frame["passed"].to_list() == [True, False, True, False, True]


def test_rule_counts_are_reported() -> None:
    result = clean_frame(
        _policy(
            policy_no=["P1 ", "Ｐ２"], applied_on=["2024/1/5", "45296"], first_year_premium=["1,000", "1万"]
        ),
        KINDS["policy"],
        REFS,
    )
    assert result.errors.height == 0
    assert result.rules["whitespace"] == 1 and result.rules["full_width"] == 1
    assert result.rules["date_format"] == 1 and result.rules["excel_serial_date"] == 1
    assert result.rules["number_format"] == 1 and result.rules["wan_amount"] == 1
    assert result.frame["policy_no"].to_list() == ["P1", "P2"]


def test_required_missing_unknown_refs_order_and_duplicates() -> None:
    result = clean_frame(
        _policy(
            agent=["A001", "ZZZ", None, "A001"],
            issued_on=[None, None, None, "2023-12-31"],
            policy_no=["P1", "P2", "P3", "P1"],
        ),
        KINDS["policy"],
        REFS,
    )
    problems = result.errors.select("_row", "field", "reason").rows()
    assert (3, "agent", "unknown employee number 'ZZZ'") in problems
    assert (4, "agent", "required, but empty") in problems
    assert (5, "issued_on", "earlier than applied_on") in problems
    assert (5, "policy_no", "duplicate of row 2") in problems
    assert result.frame["_row"].to_list() == [2]
    assert result.frame["agent_id"].to_list() == [1] and result.frame["external_id"].to_list() == ["P1"]


def test_units_lists_resolve_each_code() -> None:
    raw = pl.DataFrame(
        {
            "_row": [2, 3],
            "external_id": ["I1", "I2"],
            "system": ["核心系统"] * 2,
            "severity": ["一级", "p3"],
            "started_at": ["2024-01-05 10:00"] * 2,
            "ended_at": ["2024-01-05 12:00"] * 2,
            "affected_units": ["U1、U2", "U1;U9"],
        },
        schema_overrides={"_row": pl.Int64},
    )
    result = clean_frame(raw, KINDS["incident"], REFS)
    assert result.errors.select("_row", "reason").rows() == [(3, "unknown unit code 'U9'")]
    assert result.frame["affected_units_ids"].to_list() == [[10, 20]]
    assert result.frame["severity"].to_list() == ["P1"]

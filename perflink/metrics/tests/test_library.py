"""The product library: every definition parses, every template version adds up and fits its metrics,
and library metrics compute hand-checked values on small frames (no database)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import polars as pl
import pytest

from perflink.engine.metrics import Level, aggregate, parse_metric, prepare
from perflink.engine.periods import Period
from perflink.engine.scoring import BandRule, LinearRule, SurveyRule, ThresholdRule, parse_rule
from perflink.metrics import library
from perflink.metrics.catalogue import catalogue
from perflink.org.choices import Category

REQUIRED = {
    "new_business_premium",
    "new_policies",
    "persistency_13m",
    "agent_activity_rate",
    "new_agent_attainment_3m",
    "new_agent_attainment_3m_hr",
    "new_agent_retention_3m",
    "claim_cycle_days",
    "claim_payment_days",
    "claims_closed",
    "claims_closed_per_handler",
    "claim_backlog",
    "claim_satisfaction_rate",
    "time_to_fill_days",
    "arrival_within_10_days",
    "requisition_arrival_rate",
    "new_hire_training_completion_rate",
    "training_pass_rate",
    "reimbursement_days",
    "commission_on_time_rate",
    "system_availability",
    "outage_transactions",
    "incident_resolution_hours",
}
METRICS = {m.code: m for m in library.METRICS}
VERSIONS = [
    pytest.param(template, version, id=f"{template.code}-{version.season_code or 'general'}")
    for template in library.TEMPLATES
    for version in template.versions
]


def _version(template_code: str, season_code: str) -> library.LibraryVersion:
    return next(v for v in library.template(template_code).versions if v.season_code == season_code)


def _item(version: library.LibraryVersion, metric: str) -> Mapping[str, Any]:
    return next(item for item in version.items if item["metric"] == metric)


# --- metrics -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("item", library.METRICS, ids=lambda m: m.code)
def test_every_library_metric_parses_against_the_catalogue(item):
    spec = parse_metric(item.code, item.definition, catalogue())

    assert spec.code == item.code


def test_metric_codes_are_unique_snake_case_and_fully_described():
    codes = [m.code for m in library.METRICS]

    assert len(codes) == len(set(codes))
    for m in library.METRICS:
        assert m.code.isidentifier() and m.code == m.code.lower(), m.code
        assert m.name.strip() and m.name_en.strip(), m.code
        assert m.description.strip() and m.description_en.strip(), m.code
        assert m.domain in {"sales", "claims", "hr", "finance", "it", "general"}, m.code


def test_the_required_metrics_are_in_the_library():
    assert not REQUIRED - set(METRICS), "missing from the library"


@pytest.mark.parametrize("item", library.METRICS, ids=lambda m: m.code)
def test_every_metric_states_direction_unit_and_a_sensible_min_count(item):
    definition = item.definition

    assert definition["direction"] in ("higher", "lower")
    assert definition["unit"]
    assert isinstance(definition["min_count"], int)
    measure = definition.get("measure", {})
    # A demand's evaluation is itself a score by the demand's rule, so one of them is not noise.
    if measure.get("agg") in ("mean", "median", "p90", "share") and definition["kind"] != "demand_evaluation":
        assert definition["min_count"] >= 3, "an average or share of one or two records is noise"
    if measure.get("agg") == "share":
        assert definition["unit"] == "%"


def test_derived_formulas_parse_and_refer_only_to_base_metrics_and_builtins():
    formulas = pytest.importorskip("perflink.engine.formula")
    from perflink.engine.run import builtins_for

    derived = {
        m.code: formulas.parse(m.definition["formula"]) for m in library.METRICS if "formula" in m.definition
    }
    base = {m.code for m in library.METRICS if "formula" not in m.definition}
    builtins = set(builtins_for(Period.parse("2026-01"), None))

    order = formulas.check(derived, base | builtins)

    assert set(order) == set(derived)
    assert {"agent_activity_rate", "requisition_arrival_rate", "system_availability"} <= set(derived)


def test_planned_metrics_say_what_they_wait_for_and_are_not_installed():
    planned = {m.code for m in library.PLANNED_METRICS}

    assert "internal_support_satisfaction" in METRICS  # arrived with the support surveys (issue 6)
    assert not planned & set(METRICS)
    assert all(m.note and m.name and m.name_en for m in library.PLANNED_METRICS)


# --- seasons -------------------------------------------------------------------------------------------------


def test_seasons_are_the_new_year_push_and_the_flood_season():
    kaimenhong, flood = library.season("kaimenhong"), library.season("flood")

    assert (kaimenhong.name, kaimenhong.start, kaimenhong.end) == ("开门红", (1, 1), (3, 31))
    assert (flood.name, flood.start, flood.end) == ("汛期", (6, 1), (9, 30))
    for season in library.SEASONS:
        assert dt.date(2026, *season.start) <= dt.date(2026, *season.end)


# --- templates -----------------------------------------------------------------------------------------------


def test_templates_name_a_level_a_category_and_one_general_version():
    codes = [t.code for t in library.TEMPLATES]
    seasons = {s.code for s in library.SEASONS}

    assert len(codes) == len(set(codes))
    assert {
        "life_agent",
        "life_sales_unit",
        "claims_handler",
        "claims_unit",
        "hr_unit",
        "finance_unit",
        "it_unit",
    } <= set(codes)
    for t in library.TEMPLATES:
        assert t.level in ("employee", "unit")
        assert t.category in Category.values
        assert t.employment_type in ("agent", "staff", "")
        assert t.employment_type == "" or t.level == "employee"
        season_codes = [v.season_code for v in t.versions]
        assert season_codes.count("") == 1, t.code
        assert len(season_codes) == len(set(season_codes)), t.code
        assert set(season_codes) - {""} <= seasons


@pytest.mark.parametrize(("template", "version"), VERSIONS)
def test_a_template_version_adds_up_to_100_and_its_rules_fit_the_metrics(template, version):
    assert sum(Decimal(item["weight"]) for item in version.items) == Decimal("100")
    metrics = [item["metric"] for item in version.items]
    assert len(metrics) == len(set(metrics))
    assert version.note
    for item in version.items:
        assert set(item) == {"metric", "weight", "rule", "target", "scope"}
        assert item["metric"] in METRICS, item["metric"]
        assert Decimal(item["weight"]) > 0
        assert item["scope"] in ("self", "parent")
        rule = parse_rule(item["rule"])
        assert not isinstance(rule, SurveyRule)
        # The same check the template editor makes: the rule reads the metric the way it is meant.
        assert rule.direction.value == METRICS[item["metric"]].definition["direction"], item["metric"]
        if isinstance(rule, ThresholdRule | LinearRule) or (
            isinstance(rule, BandRule) and rule.basis != "value"
        ):
            assert item["target"] is not None and Decimal(item["target"]) > 0, item["metric"]


@pytest.mark.parametrize(("template", "version"), VERSIONS)
def test_template_metrics_have_values_at_the_template_level(template, version):
    for item in version.items:
        definition = METRICS[item["metric"]].definition
        if "formula" in definition:
            continue
        subject = definition["subject"]
        # An employee template reads the employee's own value (or its unit's, with scope parent).
        needed = "employee" if template.level == "employee" and item["scope"] == "self" else "unit"
        assert subject.get(needed), f"{template.code}: {item['metric']} has no {needed} subject"


def test_hr_new_year_push_scores_arrival_within_10_days_and_training_pass_rate_at_90():
    version = _version("hr_unit", "kaimenhong")

    arrival = _item(version, "arrival_within_10_days")
    passing = _item(version, "new_hire_training_pass_rate")
    assert arrival["rule"]["kind"] == "threshold"
    assert passing["rule"]["kind"] == "threshold"
    assert Decimal(passing["target"]) == 90
    assert {item["metric"] for item in version.items} >= {"new_agent_attainment_3m_hr"}


def test_hr_off_season_scores_retention_at_85():
    version = _version("hr_unit", "")

    retention = _item(version, "new_agent_retention_3m_hr")
    assert retention["rule"]["kind"] == "threshold"
    assert Decimal(retention["target"]) == 85


def test_finance_flood_season_tightens_the_claim_payment_target():
    general = _item(_version("finance_unit", ""), "claim_payment_days")
    flood = _item(_version("finance_unit", "flood"), "claim_payment_days")

    assert Decimal(flood["target"]) < Decimal(general["target"])
    assert Decimal(flood["target"]) == 1
    assert general["scope"] == flood["scope"] == "parent"


def test_new_year_push_weighs_premium_heavier_for_agents():
    general = _item(_version("life_agent", ""), "new_business_premium")
    push = _item(_version("life_agent", "kaimenhong"), "new_business_premium")

    assert Decimal(push["weight"]) > Decimal(general["weight"])


# --- computing library metrics on small frames ----------------------------------------------------------------

_DTYPES: dict[str, pl.DataType] = {
    "str": pl.String(),
    "enum": pl.String(),
    "int": pl.Int64(),
    "satisfaction": pl.Int64(),
    "employee": pl.Int64(),
    "unit": pl.Int64(),
    "requisition": pl.Int64(),
    "decimal": pl.Float64(),
    "money": pl.Float64(),
    "date": pl.Date(),
    "datetime": pl.Datetime("us"),
    "bool": pl.Boolean(),
}
ROSTER = ("employee", "unit")


def frame(kind: str, *rows: Mapping[str, Any]) -> pl.DataFrame:
    """A frame of ``kind`` with every catalogue column (as the loader gives it); rows name fields, not columns."""
    fields = {name: info for name, info in catalogue()[kind].items() if info.type != "units"}
    schema: dict[str, pl.DataType] = {"id": pl.Int64()}
    if kind not in ROSTER:
        schema["version"] = pl.Int64()
    schema |= {info.column: _DTYPES[info.type] for info in fields.values()}
    data = []
    for row in rows:
        cells: dict[str, Any] = dict.fromkeys(schema)
        cells["id"] = row["id"]
        if kind not in ROSTER:
            cells["version"] = 1
        for name, value in row.items():
            if name != "id":
                cells[fields[name].column] = value
        data.append(cells)
    return pl.DataFrame(data, schema=schema, orient="row")


def units(*rows: tuple[int, int | None, str]) -> pl.DataFrame:
    """``(id, parent, category)`` rows, listed parents first, with their ancestor lists (root → self)."""
    ancestors: dict[int, list[int]] = {}
    for unit_id, parent, _ in rows:
        ancestors[unit_id] = [*(ancestors[parent] if parent else []), unit_id]
    base = frame("unit", *({"id": u, "parent": p, "category": c} for u, p, c in rows))
    return base.with_columns(pl.Series("ancestors", [ancestors[u] for u, _, _ in rows], pl.List(pl.Int64)))


def values(code: str, records: Mapping[str, pl.DataFrame], tree: pl.DataFrame, period: Period, **kw: Any):
    """``{level: {subject: (value, n, provisional)}}`` of a library metric."""
    spec = parse_metric(code, METRICS[code].definition, catalogue())
    prepared, _ = prepare(spec, records, catalogue(), period, **kw)
    result = {}
    for level in spec.levels:
        rows = aggregate(spec, prepared, level, tree).sort("subject_id").rows(named=True)
        result[level.value] = {
            row["subject_id"]: (row["value"], row["n"], row["provisional"]) for row in rows
        }
    return result


BRANCH, TEAM_A, TEAM_B, HR, SALES = 1, 2, 3, 4, 5
TREE = units(
    (BRANCH, None, "general"),
    (TEAM_A, BRANCH, "sales"),
    (TEAM_B, BRANCH, "sales"),
    (HR, BRANCH, "hr"),
    (SALES, BRANCH, "sales"),
)
MARCH = Period.parse("2026-03")


def policy(id_: int, agent: int, unit: int, issued: dt.date | None, premium: float, status: str = "in_force"):
    return {
        "id": id_,
        "agent": agent,
        "unit": unit,
        "issued_on": issued,
        "first_year_premium": premium,
        "status": status,
    }


def agent(id_: int, hired: dt.date, left: dt.date | None = None, employment_type: str = "agent"):
    return {
        "id": id_,
        "unit": TEAM_A,
        "employment_type": employment_type,
        "hire_date": hired,
        "exit_date": left,
    }


# One requisition: the sales department asked HR for agents.
REQUISITIONS = frame(
    "requisition",
    {
        "id": 1,
        "requesting_unit": SALES,
        "recruiting_unit": HR,
        "positions": 6,
        "opened_on": dt.date(2026, 2, 1),
        "target_date": dt.date(2026, 3, 3),
    },
)


def test_new_business_premium_sums_issued_policies_per_agent_and_rolls_up_to_the_branch():
    policies = frame(
        "policy",
        policy(1, 11, TEAM_A, dt.date(2026, 3, 3), 20000.0),
        policy(2, 11, TEAM_A, dt.date(2026, 3, 31), 15000.5, "lapsed"),
        policy(3, 12, TEAM_B, dt.date(2026, 3, 15), 40000.0),
        policy(4, 12, TEAM_B, dt.date(2026, 3, 20), 9999.0, "cancelled"),  # cooling-off: no sale
        policy(5, 11, TEAM_A, dt.date(2026, 4, 1), 50000.0),  # April
        policy(6, 12, TEAM_B, dt.date(2026, 2, 28), 7000.0),  # February
        policy(7, 12, TEAM_B, None, 8000.0),  # applied for, not issued
    )

    result = values("new_business_premium", {"policy": policies}, TREE, MARCH)

    assert result["employee"] == {11: (35000.5, 2, False), 12: (40000.0, 1, False)}
    assert result["unit"] == {
        BRANCH: (75000.5, 3, False),
        TEAM_A: (35000.5, 2, False),
        TEAM_B: (40000.0, 1, False),
    }


def test_arrival_within_10_days_is_the_share_of_offers_taken_up_within_10_days_by_recruiting_unit():
    def hire(id_: int, offer: dt.date | None, arrived: dt.date | None):
        return {"id": id_, "requisition": 1, "offer_on": offer, "arrived_on": arrived}

    hires = frame(
        "hire",
        hire(1, dt.date(2026, 2, 25), dt.date(2026, 3, 2)),  # 5 days
        hire(2, dt.date(2026, 2, 20), dt.date(2026, 3, 2)),  # 10 days
        hire(3, dt.date(2026, 2, 19), dt.date(2026, 3, 2)),  # 11 days
        hire(4, None, dt.date(2026, 3, 5)),  # no offer date: not counted
        hire(5, dt.date(2026, 3, 20), None),  # not arrived yet
        hire(6, dt.date(2026, 3, 25), dt.date(2026, 4, 1)),  # arrived in April
    )

    result = values("arrival_within_10_days", {"hire": hires, "requisition": REQUISITIONS}, TREE, MARCH)

    share = pytest.approx(200 / 3)
    assert result["unit"] == {BRANCH: (share, 3, False), HR: (share, 3, False)}


def test_new_agent_attainment_counts_agents_reaching_100000_within_90_days_for_the_recruiter():
    arrived = dt.date(2026, 3, 2)
    employees = frame(
        "employee",
        agent(21, arrived),
        agent(22, arrived),
        agent(23, arrived, employment_type="staff"),
        agent(24, arrived),
    )
    hires = frame(
        "hire", *({"id": e, "requisition": 1, "arrived_on": arrived, "employee": e} for e in (21, 22, 23, 24))
    )

    def day(n: int) -> dt.date:
        return arrived + dt.timedelta(days=n)

    policies = frame(
        "policy",
        # 21: 60,000 + 40,000 on day 89: reached.
        policy(1, 21, TEAM_A, day(10), 60000.0),
        policy(2, 21, TEAM_A, day(89), 40000.0),
        # 22: the second policy comes on day 90, one day late.
        policy(3, 22, TEAM_A, day(10), 60000.0),
        policy(4, 22, TEAM_A, day(90), 40000.0),
        # 23 is staff, not a new agent; 24's big policy was cancelled.
        policy(5, 23, TEAM_A, day(5), 200000.0),
        policy(6, 24, TEAM_A, day(5), 120000.0, "cancelled"),
    )
    records = {"hire": hires, "requisition": REQUISITIONS, "employee": employees, "policy": policies}

    result = values("new_agent_attainment_3m_hr", records, TREE, MARCH, as_of=dt.date(2026, 5, 1))

    # 1 of 3 new agents; on 1 May their 90 days have not passed, so the value is provisional.
    share = pytest.approx(100 / 3)
    assert result["unit"] == {BRANCH: (share, 3, True), HR: (share, 3, True)}


def test_agent_activity_rate_divides_selling_agents_by_agents_on_the_books():
    pytest.importorskip("perflink.engine.formula")
    from perflink.engine.run import Inputs, compute_values

    hired = dt.date(2025, 1, 1)
    employees = frame(
        "employee",
        agent(11, hired),
        agent(12, hired),
        agent(13, hired),
        agent(14, hired, left=dt.date(2026, 2, 10)),  # left before March
        agent(15, hired, employment_type="staff"),
    )
    policies = frame(
        "policy",
        policy(1, 11, TEAM_A, dt.date(2026, 3, 3), 1000.0),
        policy(2, 11, TEAM_A, dt.date(2026, 3, 4), 1000.0),
        policy(3, 12, TEAM_A, dt.date(2026, 3, 5), 1000.0),
    )
    codes = ("active_agents", "agent_headcount", "agent_activity_rate")
    specs = {code: parse_metric(code, METRICS[code].definition, catalogue()) for code in codes}
    inputs = Inputs(
        records={"policy": policies, "employee": employees, "unit": TREE}, units=TREE, employees=employees
    )

    result, _ = compute_values(specs, inputs, catalogue(), MARCH)

    # 2 of the 3 agents on the books in March sold something.
    rate = result.filter((pl.col("metric") == "agent_activity_rate") & (pl.col("level") == Level.UNIT.value))
    assert dict(zip(rate["subject_id"], rate["value"], strict=True)) == {
        BRANCH: pytest.approx(200 / 3),
        TEAM_A: pytest.approx(200 / 3),
    }


def test_every_library_metric_computes_in_one_run_over_every_kind():
    pytest.importorskip("perflink.engine.formula")
    from perflink.engine.calendar import WorkCalendar
    from perflink.engine.run import Inputs, compute_values

    at = dt.datetime(2026, 3, 10, 9, 0)
    employees = frame(
        "employee", agent(11, dt.date(2026, 3, 2)), agent(12, dt.date(2025, 1, 1), employment_type="staff")
    )
    records = {
        "policy": frame("policy", policy(1, 11, TEAM_A, dt.date(2026, 3, 3), 30000.0)),
        "claim": frame(
            "claim",
            {
                "id": 1,
                "handler": 12,
                "unit": TEAM_B,
                "reported_at": at,
                "approved_at": at + dt.timedelta(days=1),
                "paid_at": at + dt.timedelta(days=2),
                "closed_at": at + dt.timedelta(days=3),
                "satisfaction": 5,
            },
        ),
        "requisition": REQUISITIONS,
        "hire": frame(
            "hire",
            {
                "id": 1,
                "requisition": 1,
                "offer_on": dt.date(2026, 2, 25),
                "arrived_on": dt.date(2026, 3, 2),
                "employee": 11,
            },
        ),
        "training": frame(
            "training", {"id": 1, "employee": 11, "completed_on": dt.date(2026, 3, 9), "passed": True}
        ),
        "exit": frame("exit"),
        "payment": frame(
            "payment",
            {
                "id": 1,
                "kind": "reimbursement",
                "unit": HR,
                "requested_at": at,
                "paid_at": at + dt.timedelta(days=2),
            },
            {
                "id": 2,
                "kind": "commission",
                "unit": TEAM_A,
                "requested_at": at,
                "paid_at": at + dt.timedelta(days=1),
            },
        ),
        "incident": frame(
            "incident",
            {
                "id": 1,
                "severity": "P1",
                "started_at": at,
                "ended_at": at + dt.timedelta(hours=3),
                "affected_transactions": 40,
            },
        ),
        "incident.affected_units": pl.DataFrame({"owner_id": [1], "unit_id": [TEAM_A]}),
        "survey_response": frame(
            "survey_response",
            *(
                {"id": i, "rated_unit": HR, "points": 10.0, "period_on": dt.date(2026, 3, 1)}
                for i in (1, 2, 3)
            ),
        ),
        "demand_evaluation": frame(
            "demand_evaluation",
            {"id": 1, "serving_unit": HR, "points": 86.67, "period_on": dt.date(2026, 3, 1)},
            {"id": 2, "serving_unit": HR, "points": 60.0, "period_on": dt.date(2026, 3, 1)},
            {"id": 3, "serving_unit": HR, "points": None, "period_on": dt.date(2026, 3, 1)},
        ),
        "employee": employees,
        "unit": TREE,
    }
    specs = {m.code: parse_metric(m.code, m.definition, catalogue()) for m in library.METRICS}
    inputs = Inputs(records=records, units=TREE, employees=employees)

    result, missing = compute_values(
        specs,
        inputs,
        catalogue(),
        MARCH,
        calendar=WorkCalendar.from_chinese_calendar(),
        as_of=dt.date(2026, 4, 1),
    )

    assert not missing
    team_a = {
        row["metric"]: row["value"]
        for row in result.filter((pl.col("level") == "unit") & (pl.col("subject_id") == TEAM_A)).to_dicts()
    }
    # 744 hours in March, 3 of them down.
    assert team_a["system_availability"] == pytest.approx(100 - 3 / 744 * 100)
    assert team_a["outage_transactions"] == 40
    assert team_a["new_business_premium"] == 30000
    branch = {
        row["metric"]: row["value"]
        for row in result.filter((pl.col("level") == "unit") & (pl.col("subject_id") == BRANCH)).to_dicts()
    }
    assert branch["claim_payment_days"] == pytest.approx(1.0)
    assert branch["reimbursement_days"] == 2  # Tuesday to Thursday
    assert branch["commission_on_time_rate"] == 100
    assert branch["requisition_arrival_rate"] == pytest.approx(100 / 6)  # 1 of 6 positions in time
    hr = {
        row["metric"]: row["value"]
        for row in result.filter((pl.col("level") == "unit") & (pl.col("subject_id") == HR)).to_dicts()
    }
    # The mean of the two scored demands; the one without points yet is left out.
    assert hr["demand_points"] == pytest.approx((86.67 + 60.0) / 2)
    assert hr["internal_support_satisfaction"] == 10

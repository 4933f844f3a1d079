"""What-if and back-testing: a changed plan paid over past months on the inputs of the plan in force, side by side,
per month and over the range, with nothing written (API and page)."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import polars as pl
import pytest
from django.test import Client

from perflink.accounts.actions import do_create_user
from perflink.accounts.choices import Role
from perflink.audit.models import AuditEvent
from perflink.core.context import SYSTEM, Actor, tenant_context
from perflink.core.errors import ValidationFailed
from perflink.incentives.actions import do_decide_link, do_propose_link
from perflink.incentives.bonus import do_run_bonus, stored
from perflink.incentives.library import FINANCE_PLAN
from perflink.incentives.models import BonusRun, PlanVersion
from perflink.incentives.whatif import NO_RUN, expand_periods, histogram, what_if
from perflink.metrics.actions import do_calculate
from perflink.metrics.models import CalcRun, MetricDefinition
from tests.factories import PASSWORD, World, make_employee, make_plan, make_scores, make_unit, push

AS_OF = dt.date(2026, 11, 1)
HX = {"HTTP_HX_REQUEST": "true"}
# The payment-time band of DOMAIN.md's finance plan: payment within a day pays 120%; the what-if tries 130%.
FAST_BAND = "multipliers[0].then.bands[0].factor"


def claims(handler: str, unit: str, rows: list[tuple[str, str, str, str]]) -> list[dict[str, str]]:
    """(claim number, reported, approved, paid) → claim records."""
    return [
        {
            "claim_no": no,
            "line": "auto",
            "handler": handler,
            "unit": unit,
            "reported_at": reported,
            "approved_at": approved,
            "paid_at": paid,
            "closed_at": paid,
            "amount_claimed": "1000",
            "amount_paid": "900",
        }
        for no, reported, approved, paid in rows
    ]


def branch(
    world: World, code: str, name: str, payments: list[tuple[str, str, str, str]], staff: int
) -> list[Any]:
    """A branch with a claims department (its claims paid as given), a finance department of ``staff`` people, and
    the finance ↔ claims link confirmed by the claims department's head. Returns the finance people."""
    office = make_unit(code, name, world.group, kind="branch", unit_type="management", category="general")
    claims_dept = make_unit(f"{code}-CLM", "理赔部", office, unit_type="business", category="claims")
    team = make_unit(
        f"{code}-CLM1", "理赔一组", claims_dept, kind="team", unit_type="business", category="claims"
    )
    finance = make_unit(f"{code}-FIN", "财务部", office, unit_type="functional", category="finance")
    handler = make_employee(team, name=f"{name}理赔员")
    people = [make_employee(finance, name=f"{name}会计{i}") for i in range(1, staff + 1)]
    head = do_create_user(
        username=f"head-{code.lower()}@alpha",
        password=PASSWORD,
        role=Role.UNIT_HEAD,
        scope_unit=claims_dept,
        check_password=False,
        actor=SYSTEM,
    )
    link = do_propose_link(
        functional_unit=finance,
        functional_metric=MetricDefinition.objects.get(code="claim_payment_days"),
        business_unit=claims_dept,
        business_metric=MetricDefinition.objects.get(code="claim_cycle_days"),
        rationale="赔款支付时效决定理赔周期",
        actor=SYSTEM,
    )
    do_decide_link(link, confirm=True, user=head, actor=Actor("user", head.pk, head.username))
    push(
        "claim",
        claims(handler.employee_no, team.code, [(f"{code}-{i}", *row) for i, row in enumerate(payments)]),
    )
    return people


@pytest.fixture
def finance(world: World) -> Any:
    """Two branches' finance departments under DOMAIN.md's finance plan, March 2026 calculated and paid:
    in 北京 claims are paid half a day after approval (the 120% band), in 上海 a day and a half (100%)."""
    make_scores(world)
    with tenant_context(world.tenant, SYSTEM):
        fast = branch(
            world,
            "BJ",
            "北京",
            [
                (f"2026-03-{d:02d} 09:00", f"2026-03-{d:02d} 21:00", f"2026-03-{d + 1:02d} 09:00")
                for d in (2, 9, 16)
            ],
            staff=2,
        )
        slow = branch(
            world,
            "SH",
            "上海",
            [
                (f"2026-03-{d:02d} 09:00", f"2026-03-{d:02d} 09:00", f"2026-03-{d + 1:02d} 21:00")
                for d in (2, 9, 16)
            ],
            staff=1,
        )
        plan = make_plan(world).plan
        do_calculate("2026-03", actor=SYSTEM, as_of=AS_OF)
        run = do_run_bonus(plan, "2026-03", actor=SYSTEM)
        yield world, plan, fast, slow, run


def with_factor(path: str, value: str) -> dict[str, Any]:
    changed = copy.deepcopy(FINANCE_PLAN)
    target: Any = changed
    steps = [int(i) if i else k for k, i in re.findall(r"(\w+)|\[(\d+)\]", path)]
    for step in steps[:-1]:
        target = target[step]
    target[steps[-1]] = value
    return changed


def session(world: World, role: str = "performance_admin") -> Client:
    client = Client()
    with tenant_context(world.tenant):
        client.force_login(world.users[role])
    return client


def written(world: World) -> tuple[int, int, int, int]:
    with tenant_context(world.tenant):
        return (
            BonusRun.objects.count(),
            PlanVersion.objects.count(),
            CalcRun.objects.count(),
            AuditEvent.objects.count(),
        )


# --- the figures ------------------------------------------------------------------------------------------------


def test_the_plan_in_force_tried_again_changes_nobody(finance):
    _, plan, _, _, run = finance
    result = what_if(plan, FINANCE_PLAN, ["2026-03"])
    (march,) = result["periods"]
    assert march["people"] == 3 and march["plan_version"] == 1 and march["bonus_run_id"] == run.pk
    assert march["total_real"] == march["total_tried"] == run.total
    assert march["delta"] == Decimal("0.00") and march["delta_pct"] == Decimal("0.00")
    assert (march["gained"], march["lost"], march["unchanged"]) == (0, 0, 3)
    assert march["gainers"] == [] and march["losers"] == []
    assert all(unit["delta"] == 0 for unit in march["units"])
    assert march["distribution"]["deltas"] == [] and march["distribution"]["zero_deltas"] == 3
    assert result["summary"]["delta"] == Decimal("0.00")
    assert result["series"] == [
        {
            "period": "2026-03",
            "people": 3,
            "real": run.total,
            "tried": run.total,
            "delta": Decimal("0.00"),
            "delta_pct": Decimal("0.00"),
        }
    ]


def test_a_higher_factor_for_the_fast_payment_band_raises_exactly_the_people_in_that_band(finance):
    _, plan, fast, slow, run = finance
    paid = stored(run, "amounts")
    band = dict(zip(paid["person_id"].to_list(), paid["claims_link.factor"].to_list(), strict=True))
    assert {band[p.pk] for p in fast} == {Decimal("1.2")} and band[slow[0].pk] == Decimal("1")

    result = what_if(plan, with_factor(FAST_BAND, "1.30"), ["2026-03"])
    (march,) = result["periods"]
    subtotal = dict(zip(paid["person_id"].to_list(), paid["subtotal"].to_list(), strict=True))
    expected = {
        p.pk: (subtotal[p.pk] * Decimal("0.10")).quantize(Decimal("0.01"), ROUND_HALF_UP) for p in fast
    }
    assert all(amount > 0 for amount in expected.values())
    assert {g["person_id"]: g["delta"] for g in march["gainers"]} == expected
    assert march["losers"] == [] and (march["gained"], march["lost"], march["unchanged"]) == (2, 0, 1)
    assert march["delta"] == sum(expected.values()) == result["summary"]["delta"]
    gainer = march["gainers"][0]
    assert gainer["name"].startswith("北京会计") and gainer["employee_no"] and gainer["unit"] == "财务部"
    assert gainer["unit_parent"] == "北京" and gainer["bonus_run_id"] == run.pk
    # By unit: 北京's finance department carries the whole difference, 上海's none.
    by_unit = {(u["unit_parent"], u["unit"]): u for u in march["units"]}
    assert by_unit[("北京", "财务部")]["delta"] == sum(expected.values())
    assert by_unit[("北京", "财务部")]["people"] == 2
    assert by_unit[("上海", "财务部")]["delta"] == 0
    # Distributions: real and tried amounts on the same bins, the two raised people among the deltas.
    amounts = march["distribution"]["amounts"]
    assert sum(b["real"] for b in amounts) == sum(b["tried"] for b in amounts) == 3
    assert all(b["high"] - b["low"] == amounts[0]["high"] - amounts[0]["low"] for b in amounts)
    assert sum(b["count"] for b in march["distribution"]["deltas"]) == 2
    assert march["distribution"]["zero_deltas"] == 1


def test_a_range_tries_the_months_with_a_run_and_reports_the_others_as_skipped(finance):
    _, plan, *_ = finance
    result = what_if(plan, with_factor(FAST_BAND, "1.30"), ["2026-01..2026-03"])
    assert [(p["period"], p.get("skipped")) for p in result["periods"]] == [
        ("2026-01", NO_RUN),
        ("2026-02", NO_RUN),
        ("2026-03", None),
    ]
    assert result["periods"][0] == {"period": "2026-01", "skipped": "no calculation run"}
    assert result["summary"]["periods_tried"] == 1 and result["summary"]["periods_skipped"] == 2
    assert [row["period"] for row in result["series"]] == ["2026-03"]
    assert result["summary"]["delta"] == result["periods"][2]["delta"] > 0


def test_periods_are_months_ranges_and_lists_each_once():
    labels = [p.label for p in expand_periods(["2025-11..2026-02", "2026-01", "2026-Q2", " 2026-03 "])]
    assert labels == ["2025-11", "2025-12", "2026-01", "2026-02", "2026-Q2", "2026-03"]
    for bad in (
        ["2026-03..2026-01"],
        ["2026-Q1..2026-03"],
        ["2026-13"],
        ["0000-01"],
        ["2001-01..2026-12"],
        [],
    ):
        with pytest.raises(ValidationFailed) as refused:
            expand_periods(bad)
        assert refused.value.field == "periods", bad


def test_histograms_share_round_bins_in_whole_yuan():
    money = pl.Decimal(18, 2)
    bins = histogram(
        {
            "real": pl.Series([Decimal("2400.00"), Decimal("2000.00")], dtype=money),
            "tried": pl.Series([Decimal("2600.00"), Decimal("2000.00")], dtype=money),
        }
    )
    assert bins[0]["low"] == Decimal("2000.00") and bins[-1]["high"] > Decimal("2600.00")
    assert {b["high"] - b["low"] for b in bins} == {Decimal("100.00")}  # 600 yuan in at most 12 bins
    assert sum(b["real"] for b in bins) == sum(b["tried"] for b in bins) == 2
    assert histogram({"count": pl.Series([], dtype=money)}) == []


# --- the API ------------------------------------------------------------------------------------------------------


def test_the_api_answers_money_as_strings_and_writes_nothing(finance):
    world, plan, fast, *_ = finance
    client = session(world)
    before = written(world)
    response = client.post(
        f"/api/v1/plans/{plan.pk}/what-if",
        {"definition": with_factor(FAST_BAND, "1.30"), "periods": ["2026-02..2026-03"]},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["plan"] == "finance" and body["summary"]["periods_skipped"] == 1
    assert isinstance(body["summary"]["total_real"], str) and re.fullmatch(
        r"\d+\.\d\d", body["summary"]["delta"]
    )
    assert body["periods"][0]["skipped"] == NO_RUN
    assert {g["person_id"] for g in body["gainers"]} == {p.pk for p in fast}
    assert written(world) == before


def test_an_invalid_plan_is_refused_naming_the_faulty_part_at_the_definition_field(finance):
    world, plan, *_ = finance
    broken = with_factor("components[0].weight", "90")  # 90 + 20 ≠ 100
    response = session(world).post(
        f"/api/v1/plans/{plan.pk}/what-if",
        {"definition": broken, "periods": ["2026-03"]},
        content_type="application/json",
    )
    # A domain rule refused the input: 422 with the field, like every write of the API (docs/api.md).
    assert response.status_code == 422
    assert response.json()["field"] == "definition" and "components" in response.json()["message"]
    bad_month = session(world).post(
        f"/api/v1/plans/{plan.pk}/what-if",
        {"definition": FINANCE_PLAN, "periods": ["2026-03..2025-01"]},
        content_type="application/json",
    )
    assert bad_month.status_code == 422 and bad_month.json()["field"] == "periods"


# --- the page -------------------------------------------------------------------------------------------------------


def page_url(plan: Any) -> str:
    return f"/links/bonus/plans/{plan.pk}/what-if/"


def form(definition: Any, **extra: str) -> dict[str, str]:
    text = definition if isinstance(definition, str) else json.dumps(definition, ensure_ascii=False)
    return {"definition": text, "start": "2026-03", "end": "2026-03", **extra}


def test_the_page_shows_the_plan_in_force_and_its_json_ready_to_change(finance):
    world, plan, *_ = finance
    response = session(world).get(page_url(plan))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="plan-in-force"' in body and 'id="whatif-form"' in body
    textarea = re.search(r'<textarea name="definition"[^>]*>(.*?)</textarea>', body, re.S)
    assert textarea and json.loads(textarea.group(1).replace("&quot;", '"')) == FINANCE_PLAN
    assert f'name="set:{FAST_BAND}"' in body and 'value="1.20"' in body  # the quick control of that band
    assert 'value="2026-03"' in body  # the default months: the last ones with a calculation run
    assert "web/vendor/echarts.min.js" in body and "web/charts.js" in body


def test_the_page_runs_the_what_if_with_the_charts_their_data_and_the_tables_behind_them(finance):
    world, plan, fast, slow, run = finance
    client = session(world)
    before = written(world)
    response = client.post(page_url(plan), form(with_factor(FAST_BAND, "1.30"), op="run"), **HX)
    assert response.status_code == 200
    body = response.content.decode()
    for chart in ("whatif-by-month", "whatif-deltas", "whatif-amounts"):
        assert f'data-chart="{chart}"' in body
        option = re.search(rf'<script id="{chart}-option" type="application/json">(.*?)</script>', body, re.S)
        assert option, chart
        json.loads(option.group(1))
    by_month = json.loads(re.search(r'id="whatif-by-month-option"[^>]*>(.*?)</script>', body, re.S).group(1))
    assert by_month["xAxis"]["data"] == ["2026-03"]
    assert by_month["series"][1]["data"][0] > by_month["series"][0]["data"][0]  # tried above real
    assert body.count('<details class="chart-table"') == 3
    assert 'id="whatif-units-table"' in body and "data-sortable" in body
    # The gainers link to their statement in the real bonus run of that month.
    for person in fast:
        assert f"/links/bonus/{run.pk}/people/{person.pk}/" in body
    assert f'data-person="{slow[0].pk}"' not in body
    assert 'id="whatif-form"' not in body  # htmx gets the results part only
    # Without htmx, the whole page comes back with the results; a download holds every person.
    full = client.post(page_url(plan), form(with_factor(FAST_BAND, "1.30"), op="all"))
    assert full.status_code == 200 and 'id="whatif-form"' in full.content.decode()
    assert 'id="whatif-cards"' in full.content.decode()
    csv = client.post(page_url(plan), form(with_factor(FAST_BAND, "1.30"), op="csv"))
    assert csv["Content-Type"].startswith("text/csv")
    lines = csv.content.decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 1 + 3 and lines[1].startswith("2026-03,")
    assert written(world) == before


def test_the_page_shows_an_invalid_plan_at_the_json_with_the_message_naming_the_part(finance):
    world, plan, *_ = finance
    client = session(world)
    broken = with_factor("components[0].weight", "90")
    partial = client.post(page_url(plan), form(broken, op="run"), **HX)
    assert partial.status_code == 200  # htmx swaps only 2xx answers
    body = partial.content.decode()
    assert 'id="whatif-failed"' in body
    errors = re.search(
        r'<div id="definition-check"[^>]*hx-swap-oob="true"[^>]*>.*?id="definition-errors">(.*?)</ul>',
        body,
        re.S,
    )
    assert errors and "components: weights must add up to exactly 100" in errors.group(1)
    full = client.post(page_url(plan), form(broken, op="run"))
    assert full.status_code == 400
    assert re.search(r'id="definition-errors">.*?weights must add up', full.content.decode(), re.S)
    not_json = client.post(page_url(plan), form("{ not json", op="run"))
    assert not_json.status_code == 400 and 'id="definition-errors"' in not_json.content.decode()
    no_month = client.post(page_url(plan), form(FINANCE_PLAN, op="run", start="", end=""))
    assert no_month.status_code == 400 and 'id="period-errors"' in no_month.content.decode()


def test_a_quick_control_rewrites_only_its_own_value_in_the_json(finance):
    world, plan, *_ = finance
    client = session(world)
    before = written(world)
    edited = copy.deepcopy(FINANCE_PLAN)
    edited["cap"] = "20000"  # typed into the JSON, not yet in the cap control
    data = {**form(edited, op="apply"), f"set:{FAST_BAND}": "1.30", "set:cap": "30000"}
    response = client.post(page_url(plan), data, HTTP_HX_TRIGGER_NAME=f"set:{FAST_BAND}", **HX)
    assert response.status_code == 200
    textarea = re.search(
        r'<textarea name="definition"[^>]*>(.*?)</textarea>', response.content.decode(), re.S
    )
    assert textarea
    definition = json.loads(textarea.group(1).replace("&quot;", '"'))
    assert definition["multipliers"][0]["then"]["bands"][0]["factor"] == "1.30"
    assert definition["cap"] == "20000"
    # Editing the JSON by hand brings the controls (and the check under the JSON) up to date.
    lighter = with_factor("components[0].weight", "70")
    synced = client.post(page_url(plan), form(lighter, op="sync"), **HX).content.decode()
    assert (
        synced.lstrip().startswith('<div id="whatif-controls"')
        and 'id="q-components-0-weight" value="70"' in synced
    )
    assert re.search(r'id="definition-check"[^>]*hx-swap-oob="true".*weights must add up', synced, re.S)
    assert written(world) == before


def test_what_if_needs_plans_view_and_another_tenants_plan_is_not_found(finance, other_world):
    world, plan, *_ = finance
    assert session(world, "employee").get(page_url(plan)).status_code == 403
    assert session(world, "auditor").get(page_url(plan)).status_code == 200
    outsider = Client()
    with tenant_context(other_world.tenant):
        outsider.force_login(other_world.users["performance_admin"])
    assert outsider.get(page_url(plan)).status_code == 404
    assert outsider.post(page_url(plan), form(FINANCE_PLAN)).status_code == 404


def test_months_without_any_run_say_so_instead_of_empty_charts(finance):
    world, plan, *_ = finance
    response = session(world).post(page_url(plan), form(FINANCE_PLAN, start="2025-01", end="2025-02"), **HX)
    body = response.content.decode()
    assert response.status_code == 200 and 'id="whatif-nothing-tried"' in body and "data-chart" not in body
    assert "2025-01" in body and "2025-02" in body

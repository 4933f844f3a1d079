"""The plan editor's choices for a missing input and for a value whose window has not closed (issue 13, DOMAIN.md
§3a): each rule round-trips between the plan and the form, saves as the engine reads it, and is read back."""

from __future__ import annotations

import copy
import datetime as dt
import re
from typing import Any

import pytest

from perflink.core.context import SYSTEM, tenant_context
from perflink.incentives import plan_form
from perflink.incentives.actions import do_save_plan
from perflink.incentives.library import FINANCE_PLAN, HR_PLAN
from perflink.incentives.models import IncentivePlan
from perflink.incentives.tests.test_plan_pages import (
    HX,
    PLANS,
    edit_url,
    form_data,
    planned,  # noqa: F401 (a fixture)
    session,
    text,
    versions,
)

ATTAINMENT = 1  # HR_PLAN's component on sales' new-agent 3-month attainment


def finance_with_factors() -> dict[str, Any]:
    """The finance plan with every missing input on a fixed factor, as plans were written before the rules."""
    plan = copy.deepcopy(FINANCE_PLAN)
    for component in plan["components"]:
        component["missing"] = {"factor": "0"}
    plan["multipliers"][0]["missing"] = {"factor": "1.00"}
    return plan


def hr_with(missing: Any, maturity: str = "provisional") -> dict[str, Any]:
    """The HR example with the attainment component's rules as given (``None``: no ``missing``, left out)."""
    plan = copy.deepcopy(HR_PLAN)
    component = plan["components"][ATTAINMENT]
    component.pop("missing", None)
    component.pop("maturity", None)
    if missing is not None:
        component["missing"] = missing
    if maturity != "provisional":
        component["maturity"] = maturity
    return plan


# --- plan <-> form, without loss -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("plan", "rule", "factor", "maturity"),
    [
        (hr_with(None), "leave_out", "0", "provisional"),
        (hr_with({"rule": "hold"}), "hold", "0", "provisional"),
        (hr_with({"rule": "zero"}), "zero", "0", "provisional"),
        (hr_with({"factor": "0.5"}), "factor", "0.5", "provisional"),
        (hr_with(None, maturity="cohort"), "leave_out", "0", "cohort"),
    ],
)
def test_given_each_missing_rule_and_maturity_when_round_tripped_then_the_plan_comes_back_unchanged(
    plan: dict[str, Any], rule: str, factor: str, maturity: str
) -> None:
    state = plan_form.to_state(plan)
    component = state["components"][ATTAINMENT]
    assert (component["missing_rule"], component["missing"], component["maturity"]) == (
        rule,
        factor,
        maturity,
    )
    assert plan_form.to_definition(state) == plan
    assert plan_form.representable(plan)


def test_given_the_defaults_spelled_out_when_canonical_then_they_read_as_the_plan_without_them() -> None:
    spelled = hr_with({"rule": "leave_out"})
    spelled["components"][ATTAINMENT]["maturity"] = "provisional"
    spelled["multipliers"] = [{**FINANCE_PLAN["multipliers"][0], "missing": {"rule": "leave_out"}}]
    plain = hr_with(None)
    plain["multipliers"] = [copy.deepcopy(FINANCE_PLAN["multipliers"][0])]
    plain["multipliers"][0].pop("missing", None)
    assert plan_form.canonical(spelled) == plain
    assert plan_form.representable(spelled)


def test_given_a_form_posting_only_a_factor_when_read_then_that_factor_applies() -> None:
    # An editor page opened before the rules existed posts the factor alone: it keeps meaning that factor.
    data = {
        "base.kind": "fixed",
        "base.amount": "12000",
        "components[0].key": "own",
        "components[0].label": "本人考核",
        "components[0].weight": "100",
        "components[0].source": "score",
        "components[0].factor.kind": "ratio",
        "components[0].factor.per": "100",
        "components[0].missing.factor": "0.3",
        "floor": "0",
    }
    definition = plan_form.to_definition(plan_form.from_post(data))
    assert definition["components"][0]["missing"] == {"factor": "0.3"}
    without = {k: v for k, v in data.items() if k != "components[0].missing.factor"}
    assert "missing" not in plan_form.to_definition(plan_form.from_post(without))["components"][0]


def test_given_a_multiplier_left_out_when_a_factor_is_chosen_then_the_factor_kept_aside_is_written() -> None:
    plan = copy.deepcopy(FINANCE_PLAN)
    plan["multipliers"][0].pop("missing", None)
    state = plan_form.to_state(plan)
    assert (state["multipliers"][0]["missing_rule"], state["multipliers"][0]["missing"]) == ("leave_out", "1")
    assert "missing" not in plan_form.to_definition(state)["multipliers"][0]
    state["multipliers"][0]["missing_rule"] = "factor"
    assert plan_form.to_definition(state)["multipliers"][0]["missing"] == {"factor": "1"}


def test_given_a_rule_the_form_does_not_know_when_shown_then_its_select_keeps_it_for_the_engine_to_refuse() -> (
    None
):
    state = plan_form.to_state(hr_with({"rule": "sometimes"}))
    view = plan_form.editor_view(state, plan_form.locate("components[1].missing.rule must be one of", state))
    component = view["components"][ATTAINMENT]
    assert ("sometimes", "sometimes") in component["missing_rules"]
    assert [v for v, _ in component["missing_rules"][:4]] == ["leave_out", "hold", "zero", "factor"]
    assert component["missing_rule"].error.startswith("components[1].missing.rule")
    assert "sometimes" not in [v for v, _ in view["components"][0]["missing_rules"]]


# --- the editor page -----------------------------------------------------------------------------------------------


def test_the_editor_offers_each_rule_and_saves_the_choices_as_the_engine_reads_them(planned):  # noqa: F811
    world, _ = planned
    with tenant_context(world.tenant, SYSTEM):
        plan_id = do_save_plan(
            code="finance-rules",
            name="财务部激励（缺失规则）",
            definition=finance_with_factors(),
            valid_from=dt.date(2026, 1, 1),
            category="finance",
            actor=SYSTEM,
        ).plan_id
    client = session(world, "performance_admin")
    page = text(client.get(edit_url(plan_id)))
    data = form_data(page)
    # The finance plan states fixed factors: the form shows them as such.
    assert data["components[0].missing.rule"] == "factor" and data["components[0].missing.factor"] == "0"
    assert data["components[1].maturity"] == "provisional"
    assert data["multipliers[0].missing.rule"] == "factor" and data["multipliers[0].missing.factor"] == "1.00"
    select = re.search(r'<select name="components\[1\]\.missing\.rule".*?</select>', page, re.S)
    assert select is not None
    assert re.findall(r'value="(\w+)"', select.group(0)) == ["leave_out", "hold", "zero", "factor"]
    multiplier = re.search(r'<select name="multipliers\[0\]\.missing\.rule".*?</select>', page, re.S)
    assert multiplier is not None and re.findall(r'value="(\w+)"', multiplier.group(0)) == [
        "leave_out",
        "factor",
    ]

    data.update(
        {
            "components[0].missing.rule": "hold",
            "components[1].missing.rule": "leave_out",
            "multipliers[0].missing.rule": "leave_out",
            "valid_from": "2026-07-01",
            "note": "缺失输入按规则处理",
        }
    )
    response = client.post(edit_url(plan_id), data)
    assert response.status_code == 302, text(response)[:2000]
    saved = versions(world, plan_id)[-1].definition
    assert saved["components"][0]["missing"] == {"rule": "hold"}
    assert "missing" not in saved["components"][1] and "missing" not in saved["multipliers"][0]
    assert "maturity" not in saved["components"][1]
    # The plan's page states each rule, and what changed from version 1.
    body = text(client.get(f"{PLANS}{plan_id}/?v=2"))
    assert 'data-missing="hold"' in body and 'data-missing="leave_out"' in body
    assert body.count('data-missing="leave_out"') == 2  # the cycle component and the multiplier
    assert 'data-change="own"' in body and 'data-change="claims_link"' in body


def test_a_cohort_component_saves_and_the_score_cannot_take_a_cohort(planned):  # noqa: F811
    world, _ = planned
    client = session(world, "performance_admin")
    data = form_data(text(client.get(f"{PLANS}new/", {"example": "hr"})))
    data.update(
        {
            "code": "hr-cohort",
            "name": "人力资源部激励（满期队列）",
            "valid_from": "2026-10-01",
            f"components[{ATTAINMENT}].maturity": "cohort",
            f"components[{ATTAINMENT}].missing.rule": "leave_out",
        }
    )
    # The score has no cohorts: the check points at the field.
    bad = {**data, "components[0].maturity": "cohort"}
    body = text(client.post(f"{PLANS}check/", bad, **HX))
    assert 'data-check="error"' in body and 'data-error-path="components[0].maturity"' in body
    refused = client.post(f"{PLANS}new/", bad)
    assert refused.status_code == 400
    assert re.search(r'name="components\[0\]\.maturity"[^>]*aria-invalid="true"', text(refused))

    response = client.post(f"{PLANS}new/", data)
    assert response.status_code == 302, text(response)[:3000]
    with tenant_context(world.tenant):
        plan = IncentivePlan.objects.get(code="hr-cohort")
        saved = plan.versions.get().definition
    assert saved["components"][ATTAINMENT]["maturity"] == "cohort"
    assert "missing" not in saved["components"][ATTAINMENT]
    assert saved["components"][0].get("missing") == HR_PLAN["components"][0].get("missing")  # untouched
    body = text(client.get(f"{PLANS}{plan.pk}/"))
    assert 'data-maturity="cohort"' in body and 'data-maturity="provisional"' in body
    assert 'data-missing="leave_out"' in body


# --- what-if reads the same rules ----------------------------------------------------------------------------------


def test_what_if_states_each_rule_and_offers_a_factor_box_only_for_a_fixed_factor() -> None:
    from django.utils import translation

    from perflink.incentives.views.whatif import PREFIX, apply_controls, plan_lines, quick_controls

    plan = hr_with({"rule": "hold"})
    plan["components"][2].pop("missing", None)
    plan["multipliers"] = [copy.deepcopy(FINANCE_PLAN["multipliers"][0])]
    plan["multipliers"][0].pop("missing", None)
    with translation.override("en"):
        lines = {line["label"]: line["text"] for line in plan_lines(plan, {})}
    held, left_out = (f"{c['label']} · {c['weight']}%" for c in plan["components"][1:])
    assert lines[held].endswith("without data: counted as 100%")
    assert lines[left_out].endswith("without data: left out: the other weights scale up to 100%")
    assert lines[plan["multipliers"][0]["label"]].endswith("without data: does not apply (×1)")
    controls = quick_controls(plan, {})
    assert controls["multipliers"][0]["missing"] is None
    assert not any(name.endswith("missing.factor") for name in controls["names"])
    # A box posted anyway (an old page) changes nothing rather than failing.
    assert apply_controls(plan, {f"{PREFIX}multipliers[0].missing.factor": "0.5"}) == plan


def test_a_change_of_rule_reads_as_the_rules_in_words_not_as_the_keys_that_spell_them() -> None:
    from django.utils import translation

    from perflink.incentives.views.plan_words import plan_changes

    before = finance_with_factors()
    after = copy.deepcopy(before)
    after["components"][0]["missing"] = {"rule": "hold"}
    del after["components"][1]["missing"]
    after["components"][1]["maturity"] = "cohort"
    with translation.override("en"):
        changes = {change["key"]: change["values"] for change in plan_changes(before, after)}
    assert changes["own"] == [{"field": "when data is missing", "old": "×0.00", "new": "counted as 100%"}]
    assert {
        "field": "when data is missing",
        "old": "×0.00",
        "new": "left out: the other weights scale up to 100%",
    } in (changes["claims"])
    assert {
        "field": "maturity",
        "old": "an immature value is paid provisionally and settled by an adjustment when it matures",
        "new": "reads the cohort whose window closed in the period",
    } in changes["claims"]
    assert "claims_link" not in changes  # the multiplier did not change

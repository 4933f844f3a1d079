"""The incentive plan pages: the list, a plan's page read as sentences and band tables, and the editor (structured
form and JSON) with its live check, which saves a new version through the action and nothing when invalid."""

from __future__ import annotations

import copy
import re
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client

from perflink.core.context import tenant_context
from perflink.incentives import plan_form
from perflink.incentives.library import FINANCE_PLAN, HR_PLAN
from perflink.incentives.models import IncentivePlan, PlanVersion
from tests.factories import World, make_plan, make_scores

HX = {"HTTP_HX_REQUEST": "true"}
PLANS = "/links/bonus/plans/"


def text(response: Any) -> str:
    return response.content.decode()


def session(world: World, role: str) -> Client:
    client = Client()
    with tenant_context(world.tenant):
        client.force_login(world.users[role])
    return client


class FormFields(HTMLParser):
    """What a browser would post from ``<form id=...>``: named inputs (checked boxes only), selects, textareas."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id = form_id
        self.inside = False
        self.data: dict[str, str] = {}
        self.select: str | None = None
        self.first_option: str | None = None
        self.chosen: str | None = None
        self.textarea: str | None = None
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside:
            return
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button"):
            if a.get("type") in ("checkbox", "radio"):
                if "checked" in a:
                    self.data[name] = a.get("value") or "on"
            else:
                self.data[name] = a.get("value") or ""
        elif tag == "select" and name:
            self.select, self.first_option, self.chosen = name, None, None
        elif tag == "option" and self.select is not None:
            value = a.get("value") or ""
            if self.first_option is None:
                self.first_option = value
            if "selected" in a:
                self.chosen = value
        elif tag == "textarea" and name:
            self.textarea, self.text = name, ""

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select" and self.select is not None:
            self.data[self.select] = self.chosen if self.chosen is not None else (self.first_option or "")
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            self.data[self.textarea] = self.text.removeprefix("\n")
            self.textarea = None


def form_data(html: str, form_id: str = "plan-form") -> dict[str, str]:
    parser = FormFields(form_id)
    parser.feed(html)
    return parser.data


@pytest.fixture
def planned(world: World) -> tuple[World, int]:
    make_scores(world)
    version = make_plan(world)
    return world, version.plan_id


def versions(world: World, plan_id: int) -> list[PlanVersion]:
    with tenant_context(world.tenant):
        return list(PlanVersion.objects.filter(plan_id=plan_id).order_by("number"))


def edit_url(plan_id: int) -> str:
    return f"{PLANS}{plan_id}/edit/"


# --- reading -------------------------------------------------------------------------------------------------------


def test_the_list_shows_each_plan_with_its_population_version_and_the_new_plan_button(planned):
    world, plan_id = planned
    body = text(session(world, "performance_admin").get(PLANS))
    assert f'data-plan="{plan_id}"' in body and "财务部激励方案" in body and "finance" in body
    assert "v1" in body and "2026-01-01" in body
    assert 'id="new-plan"' in body
    assert 'aria-current="page" data-nav="incentives"' in body


def test_the_list_searches_and_answers_htmx_with_the_results_only(planned):
    world, plan_id = planned
    client = session(world, "performance_admin")
    found = text(client.get(PLANS, {"q": "财务"}, **HX))
    assert "<html" not in found and f'data-plan="{plan_id}"' in found
    none = text(client.get(PLANS, {"q": "no-such-plan"}))
    assert 'id="plans-empty"' in none and "data-plan=" not in none
    assert text(client.get(PLANS, {"sort": "-versions"})).count("data-plan=") == 1


def test_without_plans_the_list_offers_the_worked_example_and_a_new_plan(world):
    body = text(session(world, "performance_admin").get(PLANS))
    assert 'id="plans-empty"' in body and 'data-example="finance"' in body and 'id="empty-new-plan"' in body


def test_the_plan_page_reads_the_plan_with_explicit_band_bounds(planned):
    world, plan_id = planned
    body = text(session(world, "performance_admin").get(f"{PLANS}{plan_id}/"))
    # The multiplier: the condition, the THEN band table with its boundary rules, ELSE and missing data.
    assert "理赔周期联动" in body and "≤ 2 天" in body
    for bound, factor in (("≤ 1 天", "×1.20"), ("1 &lt; x ≤ 2 天", "×1.00"), ("&gt; 2 天", "×0.80")):
        assert re.search(re.escape(bound) + r"</td><td[^>]*>→</td><td[^>]*>" + re.escape(factor), body), bound
    assert "×0.90" in body and "−10%" in body and "+20%" in body
    # Components: weights, inputs named by metric, rules in words, missing factors.
    assert "80%" in body and "20%" in body and "本人考核" in body and "本人考核得分 ÷ 100" in body
    # A band table without a unit of its own shows its metric's (理赔周期 counts days).
    assert re.search(r"&gt; 2 天</td><td[^>]*>→</td><td[^>]*>×0.00", body)
    assert "¥10,000.00" in body and "¥30,000.00" in body
    assert 'id="plan-json"' in body and "claim_payment_days" in body
    assert 'id="plan-edit"' in body and 'id="plan-what-if"' in body
    assert 'id="plan-bases"' not in body  # a fixed base: nothing to import per person


def test_a_per_person_plan_links_to_its_bases(planned):
    world, _ = planned
    definition = copy.deepcopy(FINANCE_PLAN)
    definition["base"] = {"kind": "per_person"}
    with tenant_context(world.tenant):
        from perflink.core.context import SYSTEM
        from perflink.incentives.actions import do_save_plan

        version = do_save_plan(
            code="per-person", name="按人基数", definition=definition, valid_from=__import__("datetime").date(2026, 1, 1),
            category="finance", actor=SYSTEM,
        )  # fmt: skip
    body = text(session(world, "performance_admin").get(f"{PLANS}{version.plan_id}/"))
    assert 'id="plan-bases"' in body


def test_a_reader_without_plans_manage_sees_no_edit_buttons_and_gets_403_on_post(planned):
    world, plan_id = planned
    auditor = session(world, "auditor")  # plans.view, not plans.manage
    assert 'id="new-plan"' not in text(auditor.get(PLANS))
    detail = text(auditor.get(f"{PLANS}{plan_id}/"))
    assert "理赔周期联动" in detail and 'id="plan-edit"' not in detail
    manager_form = form_data(text(session(world, "performance_admin").get(edit_url(plan_id))))
    assert auditor.get(edit_url(plan_id)).status_code == 403
    assert auditor.post(edit_url(plan_id), manager_form).status_code == 403
    assert auditor.post(f"{PLANS}new/", {**manager_form, "code": "x", "name": "x"}).status_code == 403
    assert auditor.post(f"{PLANS}check/", manager_form).status_code == 403
    assert len(versions(world, plan_id)) == 1
    assert session(world, "unit_head").get(f"{PLANS}{plan_id}/").status_code == 403


# --- the editor ----------------------------------------------------------------------------------------------------


def test_the_editor_shows_the_plan_as_fields_named_by_their_engine_paths(planned):
    world, plan_id = planned
    body = text(session(world, "performance_admin").get(edit_url(plan_id)))
    data = form_data(body)
    assert data["multipliers[0].when.input"] == "linked:claim_cycle_days"
    assert data["multipliers[0].when.op"] == "le" and data["multipliers[0].when.value"] == "2"
    assert data["multipliers[0].then.bands[0].upto"] == "1"
    assert data["multipliers[0].then.bands[0].inclusive"] == "1"
    assert data["multipliers[0].then.bands[2].factor"] == "0.80"
    assert "multipliers[0].then.bands[2].upto" not in data  # the open-ended band has no bound
    # Without data the multiplier does not apply (the default rule, leave out: ×1).
    assert data["multipliers[0].else.factor"] == "0.90" and data["multipliers[0].missing.factor"] == "1"
    assert data["based_on"] == "1"
    assert "≤" in body and "&lt;" in body and 'id="add-multiplier"' in body


def test_loading_the_finance_plan_and_saving_it_unchanged_gives_the_identical_definition(planned):
    world, plan_id = planned
    client = session(world, "performance_admin")
    data = form_data(text(client.get(edit_url(plan_id))))
    # The conversion alone, both ways …
    assert plan_form.to_definition(plan_form.from_post(data)) == FINANCE_PLAN
    assert plan_form.representable(FINANCE_PLAN)
    # … and through the page: a new version, identical to the one it started from.
    response = client.post(edit_url(plan_id), {**data, "valid_from": "2026-07-01"})
    assert response.status_code == 302, text(response)[:2000]
    second = versions(world, plan_id)[-1]
    assert second.number == 2 and second.definition == FINANCE_PLAN


def test_saving_a_new_version_through_the_form_creates_version_two_with_the_change(planned):
    world, plan_id = planned
    client = session(world, "performance_admin")
    data = form_data(text(client.get(edit_url(plan_id))))
    data.update(
        {
            "multipliers[0].then.bands[0].factor": "1.25",
            "multipliers[0].else.factor": "0.85",
            "cap": "40000",
            "valid_from": "2026-07-01",
            "note": "汛期调整",
        }
    )
    response = client.post(edit_url(plan_id), data)
    assert response.status_code == 302
    assert response["Location"].endswith(f"/{plan_id}/?v=2")
    first, second = versions(world, plan_id)
    expected = copy.deepcopy(FINANCE_PLAN)
    expected["multipliers"][0]["then"]["bands"][0]["factor"] = "1.25"
    expected["multipliers"][0]["else"]["factor"] = "0.85"
    expected["cap"] = "40000"
    assert second.number == 2 and second.definition == expected and second.note == "汛期调整"
    assert str(second.valid_from) == "2026-07-01" and first.definition == FINANCE_PLAN  # never edited
    # The plan's page shows what changed from version 1.
    body = text(client.get(f"{PLANS}{plan_id}/?v=2"))
    assert 'id="plan-changes"' in body and 'data-change="claims_link"' in body and 'data-change="cap"' in body
    assert "1.20" in body and "1.25" in body


def test_an_invalid_band_order_is_refused_at_the_band_and_nothing_is_saved(planned):
    world, plan_id = planned
    client = session(world, "performance_admin")
    data = form_data(text(client.get(edit_url(plan_id))))
    data.update({"multipliers[0].then.bands[1].upto": "0.5", "valid_from": "2026-07-01"})
    response = client.post(edit_url(plan_id), data)
    assert response.status_code == 400
    body = text(response)
    assert 'data-error-path="multipliers[0].then.bands[1].upto"' in body
    # The message is at the field itself, and the path is said in words.
    assert re.search(r'name="multipliers\[0\]\.then\.bands\[1\]\.upto"[^>]*aria-invalid="true"', body), (
        "the faulty bound is not marked"
    )
    assert 'id="e-multipliers[0].then.bands[1].upto"' in body
    assert "must be greater than bands[0].upto" in body
    assert "Multiplier 1 “理赔周期联动” › when the condition holds › band 2 › upper bound" in body or (
        "乘数 1" in body
    )
    assert form_data(body)["multipliers[0].then.bands[1].upto"] == "0.5"  # what was typed stays
    assert len(versions(world, plan_id)) == 1


def test_a_stale_editor_does_not_overwrite_a_version_saved_meanwhile(planned):
    world, plan_id = planned
    client = session(world, "performance_admin")
    data = form_data(text(client.get(edit_url(plan_id))))
    assert client.post(edit_url(plan_id), {**data, "valid_from": "2026-06-01"}).status_code == 302
    stale = client.post(edit_url(plan_id), {**data, "valid_from": "2026-07-01"})
    assert stale.status_code == 400 and 'id="version-conflict"' in text(stale)
    assert len(versions(world, plan_id)) == 2


def test_a_version_cannot_start_before_the_current_one(planned):
    world, plan_id = planned
    client = session(world, "performance_admin")
    data = form_data(text(client.get(edit_url(plan_id))))
    response = client.post(edit_url(plan_id), {**data, "valid_from": "2025-12-01"})
    assert response.status_code == 400 and 'id="valid-from-errors"' in text(response)
    assert len(versions(world, plan_id)) == 1


def test_a_new_plan_from_the_worked_example(planned):
    world, _ = planned
    client = session(world, "performance_admin")
    page = text(client.get(f"{PLANS}new/", {"example": "finance"}))
    data = form_data(page)
    assert data["category"] == "finance"
    data.update({"code": "finance-2027", "name": "财务部激励 2027", "valid_from": "2027-01-01"})
    response = client.post(f"{PLANS}new/", data)
    assert response.status_code == 302, text(response)[:3000]
    with tenant_context(world.tenant):
        plan = IncentivePlan.objects.get(code="finance-2027")
        assert plan.category == "finance" and plan.versions.get().definition == FINANCE_PLAN
    # The same code again is refused: a plan's versions are added on its own page.
    again = client.post(f"{PLANS}new/", data)
    assert again.status_code == 400 and 'id="code-errors"' in text(again)


def test_a_new_plan_needs_a_population_and_says_so_with_the_plans_errors(planned):
    world, _ = planned
    client = session(world, "performance_admin")
    data = form_data(text(client.get(f"{PLANS}new/")))
    data.update({"code": "blank", "name": "空白", "category": "", "unit": "", "valid_from": "2026-07-01"})
    data.update({"base.amount": "10000", "components[0].weight": "90"})
    response = client.post(f"{PLANS}new/", data)
    body = text(response)
    assert response.status_code == 400 and 'id="unit-errors"' in body
    assert 'data-error-path="components:weights"' in body  # the weights, said in the same round
    with tenant_context(world.tenant):
        assert not IncentivePlan.objects.filter(code="blank").exists()


# --- the live check ------------------------------------------------------------------------------------------------


def test_the_check_accepts_the_finance_plan_and_reads_it_back(planned):
    world, plan_id = planned
    client = session(world, "performance_admin")
    data = form_data(text(client.get(edit_url(plan_id))))
    body = text(client.post(f"{PLANS}check/", data, **HX))
    assert 'data-check="ok"' in body and "<html" not in body and "1 &lt; x ≤ 2 天" in body


def test_the_check_points_at_the_faulty_part_of_a_bad_plan(planned):
    world, plan_id = planned
    client = session(world, "performance_admin")
    data = form_data(text(client.get(edit_url(plan_id))))
    bad = {**data, "multipliers[0].then.bands[1].upto": "0.5"}
    body = text(client.post(f"{PLANS}check/", bad, **HX))
    assert 'data-check="error"' in body and 'data-error-path="multipliers[0].then.bands[1].upto"' in body
    weights = {**data, "components[1].weight": "30"}
    assert 'data-error-path="components:weights"' in text(client.post(f"{PLANS}check/", weights, **HX))
    unknown = {**data, "components[1].source": "linked:no_such_metric"}
    assert 'data-error-path="components[1].source"' in text(client.post(f"{PLANS}check/", unknown, **HX))
    as_json = {"mode": "json", "definition_json": '{"base": '}
    assert 'data-check="error"' in text(client.post(f"{PLANS}check/", as_json, **HX))
    assert 'data-check="idle"' in text(client.get(f"{PLANS}check/"))


# --- structural edits and the JSON mode ----------------------------------------------------------------------------


def test_adding_and_removing_rows_redraws_only_the_editor(planned):
    world, plan_id = planned
    client = session(world, "performance_admin")
    data = form_data(text(client.get(edit_url(plan_id))))
    added = text(client.post(edit_url(plan_id), {**data, "_op": "add:multipliers[0].then.bands"}, **HX))
    assert "<html" not in added and added.lstrip().startswith('<div id="plan-editor"')
    fields = form_data(f'<form id="plan-form">{added}</form>')
    assert (
        fields["multipliers[0].then.bands[2].upto"] == ""
        and fields["multipliers[0].then.bands[3].factor"] == "0.80"
    )
    removed = form_data(
        f'<form id="plan-form">{text(client.post(edit_url(plan_id), {**data, "_op": "remove:components[1]"}, **HX))}</form>'
    )
    assert "components[1].key" not in removed and removed["components[0].key"] == "own"
    more = form_data(
        f'<form id="plan-form">{text(client.post(edit_url(plan_id), {**data, "_op": "add:multipliers"}, **HX))}</form>'
    )
    assert more["multipliers[1].key"] == "multiplier1"
    assert len(versions(world, plan_id)) == 1  # an edit of the form saves nothing


def test_the_json_mode_round_trips_and_saves(planned):
    world, plan_id = planned
    client = session(world, "performance_admin")
    data = form_data(text(client.get(edit_url(plan_id))))
    as_json = form_data(
        f'<form id="plan-form">{text(client.post(edit_url(plan_id), {**data, "_op": "mode:json"}, **HX))}</form>'
    )
    assert as_json["mode"] == "json" and "claim_payment_days" in as_json["definition_json"]
    back = form_data(
        f'<form id="plan-form">{text(client.post(edit_url(plan_id), {**as_json, "_op": "mode:form"}, **HX))}</form>'
    )
    assert plan_form.to_definition(plan_form.from_post(back)) == FINANCE_PLAN
    unknown = as_json["definition_json"].replace('"floor": "0"', '"floor": "0", "bonus": "x"')
    stays = text(
        client.post(edit_url(plan_id), {**as_json, "definition_json": unknown, "_op": "mode:form"}, **HX)
    )
    assert 'id="json-errors"' in stays and 'name="definition_json"' in stays
    page = text(client.get(edit_url(plan_id)))
    fields = {**form_data(page), **{k: v for k, v in as_json.items() if k in ("mode", "definition_json")}}
    edited = fields["definition_json"].replace('"30000"', '"35000"')
    response = client.post(
        edit_url(plan_id), {**fields, "definition_json": edited, "valid_from": "2026-08-01"}
    )
    assert response.status_code == 302
    assert versions(world, plan_id)[-1].definition == {**FINANCE_PLAN, "cap": "35000"}


def test_the_path_of_an_engine_message_reads_in_words() -> None:
    state = plan_form.to_state(FINANCE_PLAN)
    spot = plan_form.locate("multipliers[0].then.bands[1].upto must be greater than bands[0].upto", state)
    assert spot.path == "multipliers[0].then.bands[1].upto"
    assert "理赔周期联动" in spot.words and "2" in spot.words
    assert plan_form.locate("components: weights must add up to exactly 100", state).path == plan_form.WEIGHTS
    assert plan_form.error_path("The plan reads linked:x, but there is no active metric x.") == ""


# --- in a real browser: the live check marks the field, rows are added by htmx ---------------------------------------

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def chromium_page() -> Any:
    """A Chromium tab (the system browser, never a download); skipped where there is none, as the browser suite."""
    import os
    from pathlib import Path

    if not Path(CHROMIUM).exists():
        if os.environ.get("PERFLINK_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests are required here but there is no {CHROMIUM}")
        pytest.skip(f"there is no system Chromium at {CHROMIUM} (browsers are never downloaded)")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    browser.close()
    pw.stop()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_editor_in_chromium_marks_the_faulty_band_and_adds_rows(
    live_server: Any, chromium_page: Any
) -> None:
    from tests.factories import PASSWORD, make_world

    world = make_world("delta")
    make_scores(world)
    plan_id = make_plan(world).plan_id
    page, base = chromium_page, live_server.url
    page.goto(f"{base}/login/")
    page.fill("#id_username", world.users["performance_admin"].username)
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{base}/")

    page.goto(f"{base}{edit_url(plan_id)}")
    page.wait_for_selector('#plan-check [data-check="ok"]')  # checked on load, read back in the panel
    bound = page.locator('[name="multipliers[0].then.bands[1].upto"]')
    bound.fill("0.5")
    page.wait_for_selector(
        '#plan-check [data-check="error"][data-error-path="multipliers[0].then.bands[1].upto"]'
    )
    flagged = page.locator(".pe-field.pe-flag input")
    assert flagged.count() == 1 and flagged.get_attribute("name") == "multipliers[0].then.bands[1].upto"
    covers = page.locator('[data-path="multipliers[0].then.bands[1]"] [data-role="reads"]')
    assert covers.inner_text() == "1 < x ≤ 0.5"
    bound.fill("2")
    page.wait_for_selector('#plan-check [data-check="ok"]')
    assert page.locator(".pe-flag").count() == 0

    # A band is added before the open-ended one (htmx redraws the editor; nothing is saved).
    page.click('button[value="add:multipliers[0].then.bands"]')
    page.wait_for_selector('[name="multipliers[0].then.bands[3].factor"]')
    assert page.locator('[name="multipliers[0].then.bands[3].factor"]').input_value() == "0.80"
    page.click('button[value="remove:multipliers[0].then.bands[2]"]')
    page.wait_for_selector('[name="multipliers[0].then.bands[3].factor"]', state="detached")

    # Without a condition there is no ELSE.
    page.uncheck('[name="multipliers[0].when.on"]')
    assert not page.locator('[name="multipliers[0].else.factor"]').is_visible()
    page.check('[name="multipliers[0].when.on"]')
    assert page.locator('[name="multipliers[0].else.factor"]').is_visible()

    # Saved unchanged: version 2, the identical plan.
    page.fill("#id_valid_from", "2026-07-01")
    page.click("#plan-save")
    page.wait_for_url(f"{base}{PLANS}{plan_id}/?v=2")
    assert versions(world, plan_id)[-1].definition == FINANCE_PLAN


def test_the_hr_example_saves_as_it_is_shipped(planned):
    world, _ = planned
    client = session(world, "performance_admin")
    data = form_data(text(client.get(f"{PLANS}new/", {"example": "hr"})))
    assert data["category"] == "hr"
    data.update({"code": "hr-2027", "name": "人力资源部激励 2027", "valid_from": "2027-01-01"})
    response = client.post(f"{PLANS}new/", data)
    assert response.status_code == 302, text(response)[:3000]
    with tenant_context(world.tenant):
        assert IncentivePlan.objects.get(code="hr-2027").versions.get().definition == HR_PLAN

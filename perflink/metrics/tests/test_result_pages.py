"""The results pages: calculation runs, a run's report, scorecards, explanations and one's own scorecard, for
each role that may (or may not) see them."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from perflink.accounts.actions import do_create_user
from perflink.core.context import SYSTEM, tenant_context
from perflink.ingest.models import PolicyRecord
from perflink.metrics.models import CalcRun
from tests.factories import PASSWORD, World, make_scores, make_world

HX = {"HX-Request": "true"}


@pytest.fixture
def run(world: World) -> CalcRun:
    """Run #1 of 2026-03: agent 李四 sold 80,000 in two policies (score 108.15 on the agent template)."""
    return make_scores(world)


def session(world: World, role: str) -> Client:
    client = Client()
    with tenant_context(world.tenant):
        client.force_login(world.users[role])
    return client


@pytest.fixture
def admin(world: World) -> Client:
    return session(world, "performance_admin")


@pytest.fixture
def agent_login(world: World) -> Client:
    """An employee-role login linked to the agent 李四 (the world's own employee user is 王五 of HR)."""
    with tenant_context(world.tenant, SYSTEM):
        user = do_create_user(
            username="lisi@alpha",
            password=PASSWORD,
            role="employee",
            employee=world.agent,
            check_password=False,
            actor=SYSTEM,
        )
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def text(response: Any) -> str:
    return response.content.decode()


def row(body: str, marker: str) -> str:
    """The <tr> holding ``marker`` (an attribute of the row)."""
    match = re.search(rf"<tr[^>]*{re.escape(marker)}[^>]*>.*?</tr>", body, re.S)
    assert match, marker
    return match.group(0)


def runs_of(world: World) -> int:
    with tenant_context(world.tenant):
        return CalcRun.objects.count()


# --- runs ----------------------------------------------------------------------------------------------------------


def test_the_runs_page_lists_the_run_and_offers_the_calculate_form(admin: Client, run: CalcRun) -> None:
    body = text(admin.get("/metrics/runs/"))
    run_row = row(body, f'data-run="{run.pk}"')
    assert "2026-03" in run_row and "#1" in run_row
    assert 'id="calculate-form"' in body
    # The period filter answers with the table only when htmx asks.
    fragment = text(admin.get("/metrics/runs/", {"period": "2026-03"}, headers=HX))
    assert "<html" not in fragment and f'data-run="{run.pk}"' in fragment
    empty = text(admin.get("/metrics/runs/", {"period": "2030-01"}, headers=HX))
    assert 'data-count="0"' in empty


def test_a_bad_period_is_refused_inline_and_writes_no_run(admin: Client, world: World, run: CalcRun) -> None:
    before = runs_of(world)
    response = admin.post("/metrics/runs/", {"period": "2026-13"})
    assert response.status_code == 422
    body = text(response)
    assert 'id="calc-errors"' in body and 'value="2026-13"' in body
    assert response.context["calc_form"].errors["period"]
    assert runs_of(world) == before


def test_calculating_again_makes_run_two_and_shows_what_changed(
    admin: Client, world: World, run: CalcRun
) -> None:
    response = admin.post("/metrics/runs/", {"period": "2026-03"})
    assert response.status_code == 302
    with tenant_context(world.tenant):
        second = CalcRun.objects.get(period="2026-03", number=2)
    assert response["Location"] == f"/metrics/runs/{second.pk}/"
    body = text(admin.get(response["Location"]))
    assert 'id="changes"' in body and f'href="/metrics/runs/{run.pk}/"' in body  # the previous run, linked
    assert 'data-count="results_changed">0<' in body
    # Run #1 is now superseded and says so, with a link to the newer run.
    first = text(admin.get(f"/metrics/runs/{run.pk}/"))
    assert 'id="newer-banner"' in first and f"/metrics/runs/{second.pk}/" in first
    assert 'id="publish-button"' not in first


def test_the_run_page_shows_versions_timings_and_the_best_scores(admin: Client, run: CalcRun) -> None:
    body = text(admin.get(f"/metrics/runs/{run.pk}/"))
    agent_template = row(body, 'data-template="life_agent"')
    assert "寿险代理人" in agent_template and "v2" in agent_template  # the New-Year-push version applied
    assert "31" in agent_template  # days of the period it covered
    assert run.fingerprint[:12] in body and f'title="{run.fingerprint}"' in body
    assert 'id="timings"' in body and "保单" in body  # records read, by kind, with the Chinese label
    assert 'id="publish-button"' in body
    overview = body[body.index('data-overview="life_agent"') :]
    assert "李四" in overview and "108.15" in overview


# --- publishing ----------------------------------------------------------------------------------------------------


def test_a_unit_head_may_not_publish_and_the_run_stays_as_it_was(world: World, run: CalcRun) -> None:
    response = session(world, "unit_head").post(f"/metrics/runs/{run.pk}/publish/")
    assert response.status_code == 403
    with tenant_context(world.tenant):
        run.refresh_from_db()
    assert run.published_at is None


def test_publishing_works_once_and_a_second_publish_is_refused(
    admin: Client, world: World, run: CalcRun
) -> None:
    response = admin.post(f"/metrics/runs/{run.pk}/publish/")
    assert response.status_code == 302
    with tenant_context(world.tenant):
        run.refresh_from_db()
    assert run.published_at is not None
    page = text(admin.get(f"/metrics/runs/{run.pk}/"))
    assert 'id="publish-button"' not in page

    again = admin.post(f"/metrics/runs/{run.pk}/publish/", follow=True)
    errors = [m for m in get_messages(again.wsgi_request) if m.level_tag == "error"]
    assert (
        errors and "2026-03" in str(errors[0]) and ("#1" in str(errors[0]) or "第 1 批次" in str(errors[0]))
    )
    assert 'class="alert alert-error"' in text(again)


# --- scorecards ----------------------------------------------------------------------------------------------------


def test_the_scorecards_list_filters_sorts_and_links(admin: Client, world: World, run: CalcRun) -> None:
    url = f"/metrics/runs/{run.pk}/scores/"
    body = text(admin.get(url))
    agent = row(body, f'data-subject="{world.agent.pk}"')
    assert "李四" in agent and "108.15" in agent and "销售一组" in agent and "寿险代理人" in agent
    assert f"/metrics/runs/{run.pk}/employees/{world.agent.pk}/" in agent
    hr = row(body, f'data-subject="{world.hr.pk}"')
    assert 'data-level="unit"' in hr and "0/5" in hr  # nothing scorable: no score, not zero

    only_units = text(admin.get(url, {"level": "unit"}, headers=HX))
    assert "<html" not in only_units and f'data-subject="{world.agent.pk}"' not in only_units
    found = text(admin.get(url, {"q": "李四"}, headers=HX))
    assert 'data-count="1"' in found
    by_score = text(admin.get(url, {"sort": "-score", "level": "unit"}, headers=HX))
    assert by_score.index(f'data-subject="{world.sales.pk}"') < by_score.index(
        f'data-subject="{world.hr.pk}"'
    )
    nothing = text(admin.get(url, {"q": "无此人"}, headers=HX))
    assert 'data-count="0"' in nothing and 'class="empty"' in nothing


def test_an_employee_scorecard_shows_each_line_and_never_turns_missing_data_into_zero(
    admin: Client, world: World, run: CalcRun
) -> None:
    body = text(admin.get(f"/metrics/runs/{run.pk}/employees/{world.agent.pk}/"))
    assert "李四" in body and "108.15" in body and "v2" in body
    premium = row(body, 'data-metric="new_business_premium"')
    assert "新单保费" in premium and "80,000 元" in premium and "50,000 元" in premium
    assert "160%" in premium and "120" in premium
    persistency = row(body, 'data-metric="persistency_13m"')
    assert 'data-status="insufficient_data"' in persistency
    assert 'data-min="3"' in persistency  # the minimum the metric needs, next to the count it had
    assert ">0<" not in persistency.replace("> 0 <", "")
    assert re.search(r"<strong>—</strong>", persistency)  # no points, rather than zero points
    # The period switcher lists only the one period there is.
    assert 'id="period-switcher"' not in body


def test_a_unit_scorecard_lists_sub_units_employees_and_parent_values(
    admin: Client, world: World, run: CalcRun
) -> None:
    branch = text(admin.get(f"/metrics/runs/{run.pk}/units/{world.sales.pk}/"))
    assert "个险销售部" in branch and "25.89" in branch
    assert f"/metrics/runs/{run.pk}/units/{world.sales_team.pk}/" in branch  # the team, as a sub-unit
    team = text(admin.get(f"/metrics/runs/{run.pk}/units/{world.sales_team.pk}/"))
    members = team[team.index('id="members"') :]
    assert "李四" in members and "108.15" in members
    hr = text(admin.get(f"/metrics/runs/{run.pk}/units/{world.hr.pk}/"))
    training = row(hr, 'data-metric="new_hire_training_pass_rate"')
    assert world.group.name in training  # scope=parent: the value is the group's


def test_the_explanation_lists_the_policies_that_were_counted(
    admin: Client, world: World, run: CalcRun
) -> None:
    url = f"/metrics/runs/{run.pk}/explain/"
    query = {
        "level": "employee",
        "subject_id": world.agent.pk,
        "metric": "new_business_premium",
        "slot": "life_agent-0",
    }
    fragment = text(admin.get(url, query, headers=HX))
    assert fragment.startswith('<tr class="explain-row" id="explain-life_agent-0">')
    assert "P-alpha-0" in fragment and "P-alpha-1" in fragment
    assert "P-alpha-2" not in fragment  # February's policy is not March's premium
    assert "首年保费" in fragment and "30,000" in fragment
    # Without htmx the same link opens the scorecard with that line explained.
    page = text(admin.get(url, query))
    assert "<html" in page and "P-alpha-1" in page and "新单保费" in page
    # A line of nothing in particular: a hint, not an error.
    assert admin.get(url).status_code == 200
    assert admin.get(url, {**query, "metric": "no_such_metric"}, headers=HX).status_code == 404


def test_a_derived_metric_is_explained_by_its_formula_and_inputs(
    admin: Client, world: World, run: CalcRun
) -> None:
    query = {"level": "unit", "subject_id": world.sales.pk, "metric": "agent_activity_rate"}
    fragment = text(admin.get(f"/metrics/runs/{run.pk}/explain/", query, headers=HX))
    assert "data-inputs" in fragment and "active_agents" in fragment and "agent_headcount" in fragment


# --- data scope ----------------------------------------------------------------------------------------------------


def test_a_unit_head_sees_only_their_subtree(world: World, run: CalcRun) -> None:
    head = session(world, "unit_head")  # head of the sales branch
    assert head.get(f"/metrics/runs/{run.pk}/units/{world.sales_team.pk}/").status_code == 200
    assert head.get(f"/metrics/runs/{run.pk}/employees/{world.agent.pk}/").status_code == 200
    assert head.get(f"/metrics/runs/{run.pk}/units/{world.hr.pk}/").status_code == 404
    assert head.get(f"/metrics/runs/{run.pk}/employees/{world.staff.pk}/").status_code == 404
    explain = {"level": "unit", "subject_id": world.hr.pk, "metric": "arrival_within_10_days"}
    assert head.get(f"/metrics/runs/{run.pk}/explain/", explain, headers=HX).status_code == 404
    listing = text(head.get(f"/metrics/runs/{run.pk}/scores/"))
    assert f'data-subject="{world.agent.pk}"' in listing
    assert f'data-subject="{world.hr.pk}"' not in listing
    overview = text(head.get(f"/metrics/runs/{run.pk}/"))
    assert f"/units/{world.hr.pk}/" not in overview


def test_changed_records_are_listed_to_readers_of_the_whole_tenant_only(
    admin: Client, world: World, run: CalcRun
) -> None:
    with tenant_context(world.tenant):
        policy = PolicyRecord.objects.get(policy_no="P-alpha-0")
        changed = [{"kind": "policy", "id": policy.pk, "version": 2, "version_before": 1}]
        CalcRun.objects.filter(pk=run.pk).update(
            summary={**run.summary, "previous_run": run.pk, "changed_records": changed}
        )
    listed = text(admin.get(f"/metrics/runs/{run.pk}/"))
    changes = listed[listed.index('id="changed-records"') :]
    assert "P-alpha-0" in changes and "v1 → v2" in changes
    head = text(session(world, "unit_head").get(f"/metrics/runs/{run.pk}/"))
    assert 'id="changed-records"' not in head and "P-alpha-0" not in head
    assert 'data-count="changed_records">1<' in head  # the count is no secret


def test_another_tenants_run_is_not_found(run: CalcRun, db: None) -> None:
    beta = make_world("beta")
    client = session(beta, "performance_admin")
    assert client.get(f"/metrics/runs/{run.pk}/").status_code == 404
    assert client.get(f"/metrics/runs/{run.pk}/scores/").status_code == 404


# --- an employee's own scorecard -----------------------------------------------------------------------------------


def test_an_employee_sees_their_own_lines_but_not_the_runs(
    agent_login: Client, admin: Client, run: CalcRun
) -> None:
    assert agent_login.get("/metrics/runs/").status_code == 403
    assert agent_login.get(f"/metrics/runs/{run.pk}/scores/").status_code == 403
    body = text(agent_login.get("/metrics/me/"))
    assert "李四" in body and "108.15" in body and "新单保费" in body
    assert 'id="unpublished-note"' in body  # the latest run, not published yet
    mine = text(agent_login.get("/metrics/me/", {"metric": "new_business_premium", "slot": "x"}, headers=HX))
    assert "P-alpha-0" in mine and "P-alpha-1" in mine

    assert admin.post(f"/metrics/runs/{run.pk}/publish/").status_code == 302
    published = text(agent_login.get("/metrics/me/"))
    assert "108.15" in published and 'id="unpublished-note"' not in published


def test_my_scorecard_says_what_happens_next_without_an_employee_or_a_run(
    world: World, admin: Client, run: CalcRun
) -> None:
    assert 'id="no-employee"' in text(admin.get("/metrics/me/"))
    # 王五 works in HR, where only the department is scored: no scorecard of their own.
    assert 'id="no-run"' in text(session(world, "employee").get("/metrics/me/"))


def test_my_scorecard_before_any_calculation(world: World) -> None:
    assert 'id="no-run"' in text(session(world, "employee").get("/metrics/me/"))


def test_a_scorecard_loads_its_trend_over_the_calculated_months(world: World) -> None:
    from datetime import date

    from perflink.metrics.actions import do_calculate
    from perflink.metrics.trends import subject_trend

    run = make_scores(world)  # March 2026
    with tenant_context(world.tenant, SYSTEM):
        do_calculate("2026-02", actor=SYSTEM, as_of=date(2026, 11, 1))
        trend = subject_trend("employee", world.agent.pk, "2026-03")
    # February's 20,000 and March's 80,000 of new-business premium, each month from its own latest run.
    assert trend.periods == ("2026-02", "2026-03")
    premium = next(item for item in trend.items if item.metric == "new_business_premium")
    assert premium.values == (20000.0, 80000.0)
    assert trend.scores[1] is not None and trend.scores[1] > trend.scores[0]

    client = session(world, "performance_admin")
    page = client.get(f"/metrics/runs/{run.pk}/employees/{world.agent.pk}/").content.decode()
    assert f'hx-get="/metrics/runs/{run.pk}/employees/{world.agent.pk}/trend/"' in page
    panel = client.get(f"/metrics/runs/{run.pk}/employees/{world.agent.pk}/trend/").content.decode()
    assert 'data-months="2"' in panel and 'data-chart="trend-items"' in panel
    unit_panel = client.get(f"/metrics/runs/{run.pk}/units/{world.sales_team.pk}/trend/")
    assert unit_panel.status_code == 200
    # The employee, scoped to the sales team, cannot open another unit's trend.
    assert session(world, "employee").get(
        f"/metrics/runs/{run.pk}/units/{world.hr.pk}/trend/"
    ).status_code in (403, 404)

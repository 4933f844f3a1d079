"""From a statement line to the records behind it: each input says which employee or unit supplied its value (or,
for a linked outcome, which business units it is the mean of) and links to that number's explanation or
scorecard in the calculation run the bonus run was built on."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlparse

import polars as pl
import pytest
from django.test import Client
from django.utils import translation
from django.utils.translation import pgettext

from perflink.accounts.actions import do_create_user
from perflink.accounts.choices import Role
from perflink.core.context import SYSTEM, Actor, tenant_context
from perflink.core.frames import to_ipc
from perflink.incentives.actions import do_decide_link, do_propose_link
from perflink.incentives.bonus import do_run_bonus, source_column, stored
from perflink.incentives.models import BonusRun
from perflink.incentives.tests.test_bonus import claims
from perflink.metrics.actions import do_calculate
from perflink.metrics.models import MetricDefinition
from tests.factories import PASSWORD, World, make_employee, make_plan, make_scores, make_unit, push


def hours(start: str, h: float) -> str:
    at = dt.datetime.fromisoformat(start) + dt.timedelta(hours=h)
    return at.strftime("%Y-%m-%d %H:%M")


def claims_of(handler: str, unit: str, prefix: str, cycle_days: float) -> list[dict[str, str]]:
    """Three March claims, each paid ``cycle_days`` after it was reported and half a day after approval."""
    rows = []
    for i, day in enumerate(("2026-03-02", "2026-03-09", "2026-03-16")):
        reported = f"{day} 08:00"
        paid = hours(reported, cycle_days * 24)
        rows.append((f"{prefix}{i}", reported, hours(paid, -12), paid))
    return claims(handler, unit, rows)


@pytest.fixture
def drill(world: World) -> dict[str, Any]:
    """Two branches' claims departments (cycle 1.6 and 2.0 days) linked to the group's finance department by
    confirmed links; the finance plan of DOMAIN.md run for March 2026."""
    make_scores(world)
    with tenant_context(world.tenant, SYSTEM):
        metrics = {m.code: m for m in MetricDefinition.objects.all()}
        finance = make_unit("FIN", "财务部", world.group, unit_type="functional", category="finance")
        accountant = make_employee(finance, name="钱会计")
        claims_units = {}
        for code, branch_name, days in (("A", "分公司A", 1.6), ("B", "分公司B", 2.0)):
            branch = make_unit(
                f"BR{code}",
                branch_name,
                world.group,
                kind="branch",
                unit_type="management",
                category="general",
            )
            unit = make_unit(f"CLM{code}", "理赔部", branch, unit_type="business", category="claims")
            handler = make_employee(unit, name=f"理赔员{code}")
            head = do_create_user(
                username=f"claims-head-{code}@alpha",
                password=PASSWORD,
                role=Role.UNIT_HEAD,
                scope_unit=unit,
                check_password=False,
                actor=SYSTEM,
            )
            link = do_propose_link(
                functional_unit=finance,
                functional_metric=metrics["claim_payment_days"],
                business_unit=unit,
                business_metric=metrics["claim_cycle_days"],
                rationale="赔款支付时效决定理赔周期",
                actor=SYSTEM,
            )
            do_decide_link(link, confirm=True, user=head, actor=Actor("user", head.pk, head.username))
            push("claim", claims_of(handler.employee_no, unit.code, f"{code}-C", days))
            claims_units[code] = unit
        plan = make_plan(world).plan
        calc = do_calculate("2026-03", actor=SYSTEM, as_of=dt.date(2026, 11, 1))
        run = do_run_bonus(plan, "2026-03", actor=SYSTEM)
    return {
        "world": world,
        "run": run,
        "calc": calc,
        "accountant": accountant,
        "finance": finance,
        "claims": claims_units,
    }


def admin(world: World) -> Client:
    client = Client()
    with tenant_context(world.tenant):
        client.force_login(world.users["performance_admin"])
    return client


def statement_url(run: BonusRun, person_id: int) -> str:
    return f"/links/bonus/{run.pk}/people/{person_id}/"


def source_links(body: str, input_code: str) -> list[dict[str, Any]]:
    """The links of a line's source block: href, level, subject."""
    block = re.search(
        rf'<div class="line-source" data-source="\w+" data-input="{re.escape(input_code)}">(.*?)</div>',
        body,
        re.S,
    )
    assert block, f"no source for {input_code}"
    return [
        {"href": unescape(href), "level": level, "subject": int(subject), "text": text}
        for href, level, subject, text in re.findall(
            r'<a href="([^"]+)" data-source-link data-level="(\w+)" data-subject="(\d+)">(.*?)</a>',
            block.group(1),
        )
    ]


def test_the_run_records_which_subject_supplied_each_input(drill: dict[str, Any]) -> None:
    world, run, accountant = drill["world"], drill["run"], drill["accountant"]
    with tenant_context(world.tenant):
        row = stored(run, "inputs").filter(pl.col("person_id") == accountant.pk).row(0, named=True)
    linked = row[source_column("linked:claim_cycle_days")]
    assert [(s["level"], s["subject_id"]) for s in linked] == [
        ("unit", drill["claims"]["A"].pk),
        ("unit", drill["claims"]["B"].pk),
    ]
    assert [round(s["value"], 4) for s in linked] == [1.6, 2.0]
    assert row["linked:claim_cycle_days"] == pytest.approx(1.8)
    # The finance department has no claims of its own: the value is the group's (the nearest unit above).
    own = row[source_column("own:claim_payment_days")]
    assert [(s["level"], s["subject_id"]) for s in own] == [("unit", world.group.pk)]
    assert [(s["level"], s["subject_id"]) for s in row[source_column("score")]] in (
        [("employee", accountant.pk)],
        [("unit", drill["finance"].pk)],
    )


def test_a_linked_input_lists_the_business_units_it_is_the_mean_of_each_with_its_explanation(
    drill: dict[str, Any],
) -> None:
    world, run, accountant = drill["world"], drill["run"], drill["accountant"]
    client = admin(world)
    body = client.get(statement_url(run, accountant.pk)).content.decode()
    text = re.sub(r"<[^>]+>", "", body)
    assert "理赔周期 = 1.8 天" in text
    with translation.override("zh-hans"):
        mean_of = pgettext("statement source", ": the mean of")
        and_ = pgettext("list, before the last item", " and ")
    assert f"理赔周期 = 1.8 天{mean_of} 分公司A 理赔部 (1.6){and_}分公司B 理赔部 (2)" in text
    links = source_links(body, "linked:claim_cycle_days")
    assert [(link["level"], link["subject"]) for link in links] == [
        ("unit", drill["claims"]["A"].pk),
        ("unit", drill["claims"]["B"].pk),
    ]
    for link, unit in zip(links, (drill["claims"]["A"], drill["claims"]["B"]), strict=True):
        url = urlparse(link["href"])
        assert url.path == f"/metrics/runs/{drill['calc'].pk}/explain/"
        assert parse_qs(url.query) == {
            "level": ["unit"],
            "subject_id": [str(unit.pk)],
            "metric": ["claim_cycle_days"],
        }
        page = client.get(link["href"])
        assert page.status_code == 200
        explained = page.content.decode()
        assert 'data-explanation="claim_cycle_days"' in explained and "理赔部" in explained
        assert "data-record=" in explained  # the claims counted


def test_an_own_input_read_from_a_unit_above_links_to_the_line_that_explains_that_value(
    drill: dict[str, Any],
) -> None:
    world, run, accountant = drill["world"], drill["run"], drill["accountant"]
    client = admin(world)
    body = client.get(statement_url(run, accountant.pk)).content.decode()
    (link,) = source_links(body, "own:claim_payment_days")
    # The value is the group's; the finance department's scorecard line reads it (scope "parent") and explains it.
    assert (link["level"], link["subject"]) == ("unit", world.group.pk)
    query = parse_qs(urlparse(link["href"]).query)
    assert query == {
        "level": ["unit"],
        "subject_id": [str(drill["finance"].pk)],
        "metric": ["claim_payment_days"],
    }
    page = client.get(link["href"])
    assert page.status_code == 200
    explained = page.content.decode()
    assert 'data-explanation="claim_payment_days"' in explained
    assert world.group.name in explained and "data-record=" in explained


def test_the_score_links_to_the_scorecard_it_came_from(drill: dict[str, Any]) -> None:
    world, run, accountant = drill["world"], drill["run"], drill["accountant"]
    client = admin(world)
    body = client.get(statement_url(run, accountant.pk)).content.decode()
    (link,) = source_links(body, "score")
    calc = drill["calc"].pk
    expected = {
        "employee": f"/metrics/runs/{calc}/employees/{accountant.pk}/",
        "unit": f"/metrics/runs/{calc}/units/{drill['finance'].pk}/",
    }[link["level"]]
    assert link["href"] == expected
    assert client.get(link["href"]).status_code == 200


def test_a_run_stored_without_sources_works_them_out_from_its_calculation_run(drill: dict[str, Any]) -> None:
    world, run, accountant = drill["world"], drill["run"], drill["accountant"]
    with tenant_context(world.tenant):
        old = stored(run, "inputs")
        BonusRun.objects.filter(pk=run.pk).update(
            inputs=to_ipc(old.select(c for c in old.columns if not c.endswith(".from")))
        )
    body = admin(world).get(statement_url(run, accountant.pk)).content.decode()
    assert 'id="sources-worked-out"' in body
    assert [link["subject"] for link in source_links(body, "linked:claim_cycle_days")] == [
        drill["claims"]["A"].pk,
        drill["claims"]["B"].pk,
    ]
    assert source_links(body, "own:claim_payment_days")[0]["subject"] == world.group.pk


def test_an_input_without_a_confirmed_link_says_so_without_links(world: World) -> None:
    from tests.factories import make_bonus_runs

    make_scores(world)
    run = make_bonus_runs(world)["published"]
    body = admin(world).get(statement_url(run, world.staff.pk)).content.decode()
    assert source_links(body, "linked:claim_cycle_days") == []
    assert 'data-input="linked:claim_cycle_days"' in body

"""Linked template items (``scope="linked"``): a functional unit scored on the business outcome of the units
that confirmed a link with it — only confirmed links count, and the scorecard says where the value came from."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest
from django.test import Client

from perflink.accounts.choices import Role
from perflink.core.context import SYSTEM, Actor, tenant_context
from perflink.core.errors import ValidationFailed
from perflink.incentives.actions import do_decide_link, do_propose_link
from perflink.metrics.actions import check_items, do_calculate, do_save_template_version
from perflink.metrics.models import CalcRun, MetricDefinition, Template
from perflink.metrics.selectors import run_frame
from tests.factories import World, make_scores

HX = {"HX-Request": "true"}
LINKED_ITEMS: list[dict[str, Any]] = [
    # HR is scored on the premium of the sales units it recruits for: 1 point per percent of 100,000.
    {
        "metric": "new_business_premium",
        "weight": "40",
        "rule": {"kind": "linear", "per_point": "1", "cap": "120"},
        "target": "100000",
        "scope": "linked",
    },
    {
        "metric": "time_to_fill_days",
        "weight": "60",
        "rule": {"kind": "linear", "per_point": "1", "direction": "lower"},
        "target": "30",
    },
]


@pytest.fixture
def hr_linked(world: World) -> World:
    make_scores(world)
    with tenant_context(world.tenant, SYSTEM):
        template = Template.objects.get(code="hr_unit")
        do_save_template_version(template, items=LINKED_ITEMS, valid_from=dt.date(2026, 1, 1), actor=SYSTEM)
    return world


def hr_line(world: World, run: Any) -> dict[str, Any]:
    rows = run_frame(run, "results").filter(
        (pl.col("level") == "unit")
        & (pl.col("subject_id") == world.hr.pk)
        & (pl.col("metric") == "new_business_premium")
    )
    assert rows.height == 1
    return rows.row(0, named=True)


def propose(world: World) -> Any:
    return do_propose_link(
        functional_unit=world.hr,
        functional_metric=MetricDefinition.objects.get(code="time_to_fill_days"),
        business_unit=world.sales,
        business_metric=MetricDefinition.objects.get(code="new_business_premium"),
        rationale="招聘为销售部输送新人",
        actor=SYSTEM,
    )


def test_only_a_confirmed_link_gives_the_linked_item_a_value(hr_linked: World) -> None:
    world = hr_linked
    with tenant_context(world.tenant, SYSTEM):
        link = propose(world)
        proposed = do_calculate("2026-03", actor=SYSTEM, as_of=dt.date(2026, 11, 1))
        line = hr_line(world, proposed)
        assert (line["scope"], line["value"], line["points"]) == ("linked", None, None)
        assert line["status"] != "scored"

        head = world.users[Role.UNIT_HEAD]  # the sales department's head: the business side
        do_decide_link(link, confirm=True, user=head, actor=Actor("user", head.pk, head.username))
        confirmed = do_calculate("2026-03", actor=SYSTEM, as_of=dt.date(2026, 11, 1))
        line = hr_line(world, confirmed)
        # The sales department's March premium: 30,000 + 50,000 = 80,000 → 80% → 80 points.
        assert (line["value_level"], line["value_subject_id"], line["value"]) == (
            "linked",
            world.hr.pk,
            80_000.0,
        )
        assert str(line["points"]) == "80.00"
        # The run keeps the links it read, so it can be reproduced and explained.
        stored = CalcRun.objects.get(pk=confirmed.pk)
        assert stored.rules["links"] == [[world.hr.pk, world.sales.pk, "new_business_premium"]]
        assert confirmed.fingerprint != proposed.fingerprint


def test_the_scorecard_and_the_explanation_name_the_linked_business_units(hr_linked: World) -> None:
    world = hr_linked
    admin = Client()
    admin.force_login(world.users[Role.PERFORMANCE_ADMIN])
    with tenant_context(world.tenant, SYSTEM):
        link = propose(world)
        head = world.users[Role.UNIT_HEAD]
        do_decide_link(link, confirm=True, user=head, actor=Actor("user", head.pk, head.username))
        run = do_calculate("2026-03", actor=SYSTEM, as_of=dt.date(2026, 11, 1))
    page = admin.get(f"/metrics/runs/{run.pk}/units/{world.hr.pk}/").content.decode()
    line = page[page.index('data-metric="new_business_premium"') :]
    line = line[: line.index("</tr>")]
    assert "data-linked" in line and world.sales.name in line and "80,000" in line
    query = {
        "level": "unit",
        "subject_id": world.hr.pk,
        "metric": "new_business_premium",
        "slot": "hr_unit-0",
    }
    fragment = admin.get(f"/metrics/runs/{run.pk}/explain/", query, headers=HX).content.decode()
    assert "data-linked-from" in fragment and world.sales.name in fragment
    # The records behind it are the sales department's policies.
    assert "P-alpha-0" in fragment and "P-alpha-1" in fragment


def test_a_linked_item_must_read_a_metric_measured_for_units(world: World) -> None:
    make_scores(world)
    with tenant_context(world.tenant, SYSTEM):
        unit_only = MetricDefinition.objects.filter(definition__subject__unit__isnull=True).first()
        if unit_only is None:
            pytest.skip("the library has no employee-only metric")
        rule = {"kind": "linear", "per_point": "1", "direction": unit_only.direction}
        items = [dict(LINKED_ITEMS[0], metric=unit_only.code, rule=rule), LINKED_ITEMS[1]]
        with pytest.raises(ValidationFailed) as refused:
            check_items(items, "unit")
        assert refused.value.field == "items[0].scope"
        with pytest.raises(ValidationFailed) as refused:
            check_items([dict(LINKED_ITEMS[0], scope="sideways"), LINKED_ITEMS[1]], "unit")
        assert refused.value.field == "items[0].scope"

"""Incentive plans are validated by the engine when saved, versioned, and audited."""

from __future__ import annotations

import copy
import datetime as dt

import pytest

from perflink.audit.models import AuditEvent
from perflink.core.context import SYSTEM, tenant_context
from perflink.core.errors import ValidationFailed
from perflink.incentives.actions import do_save_plan
from perflink.incentives.models import IncentivePlan
from tests.factories import FINANCE_PLAN, make_plan, make_scores


@pytest.fixture
def planned(world):
    make_scores(world)
    version = make_plan(world)
    with tenant_context(world.tenant, SYSTEM):
        yield world, version


def test_a_plan_is_saved_with_its_first_version_and_audited(planned):
    _, version = planned
    assert version.number == 1 and version.plan.code == "finance"
    assert AuditEvent.objects.filter(action="plan.version", object_id=str(version.pk)).exists()


def test_an_invalid_plan_is_refused_with_the_faulty_part_named_and_nothing_written(planned):
    bad = copy.deepcopy(FINANCE_PLAN)
    bad["components"][1]["weight"] = "30"  # 80 + 30
    with pytest.raises(ValidationFailed) as refused:
        do_save_plan(
            code="bad",
            name="x",
            definition=bad,
            valid_from=dt.date(2026, 1, 1),
            category="finance",
            actor=SYSTEM,
        )
    assert refused.value.message.startswith("components")
    bad = copy.deepcopy(FINANCE_PLAN)
    bad["multipliers"][0]["then"]["bands"][1]["upto"] = "0.5"  # below the band before it
    with pytest.raises(ValidationFailed) as refused:
        do_save_plan(
            code="bad",
            name="x",
            definition=bad,
            valid_from=dt.date(2026, 1, 1),
            category="finance",
            actor=SYSTEM,
        )
    assert refused.value.message.startswith("multipliers[0].then.bands[1]")
    assert not IncentivePlan.objects.filter(code="bad").exists()


def test_a_plan_reading_an_unknown_metric_is_refused(planned):
    bad = copy.deepcopy(FINANCE_PLAN)
    bad["components"][1]["source"] = "linked:no_such_metric"
    with pytest.raises(ValidationFailed, match="no_such_metric"):
        do_save_plan(
            code="bad",
            name="x",
            definition=bad,
            valid_from=dt.date(2026, 1, 1),
            category="finance",
            actor=SYSTEM,
        )


def test_a_change_is_a_new_version_that_cannot_start_before_the_current_one(planned):
    _, first = planned
    second = do_save_plan(
        code="finance",
        name="财务部激励方案",
        definition=FINANCE_PLAN,
        valid_from=dt.date(2026, 6, 1),
        category="finance",
        note="汛期前调整",
        actor=SYSTEM,
    )
    assert second.number == 2 and second.plan_id == first.plan_id
    with pytest.raises(ValidationFailed) as refused:
        do_save_plan(
            code="finance",
            name="财务部激励方案",
            definition=FINANCE_PLAN,
            valid_from=dt.date(2026, 3, 1),
            category="finance",
            actor=SYSTEM,
        )
    assert refused.value.field == "valid_from"

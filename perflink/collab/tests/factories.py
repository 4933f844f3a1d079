"""Demands for tests: one in each state, and the people and records of DOMAIN.md's recruitment example."""

from __future__ import annotations

import datetime as dt
from typing import Any

from perflink.accounts.actions import do_create_user
from perflink.accounts.choices import Role
from perflink.collab.actions import (
    do_accept_demand,
    do_deliver_demand,
    do_raise_demand,
    do_start_demand,
)
from perflink.collab.models import Demand
from perflink.core.context import SYSTEM, tenant_context
from perflink.org.models import OrgUnit
from tests.factories import PASSWORD, World, make_unit

RECRUITMENT_SPEC = {
    "positions": 20,
    "arrival_days": 10,
    "per_hire_target": "100000",
    "requisition": "REQ-2026-001",
}
STATES = ("submitted", "accepted", "in_progress", "delivered")


def make_demands(
    world: World, *, serving: OrgUnit | None = None, title: str = "招聘20名代理人"
) -> dict[str, Demand]:
    """A recruitment demand of the sales department to ``serving`` (default HR) in each open state and delivered,
    raised and moved by the system."""
    serving = serving or world.hr
    demands: dict[str, Demand] = {}
    with tenant_context(world.tenant, SYSTEM):
        for state in STATES:
            demand = do_raise_demand(
                kind="recruitment",
                title=title,
                requesting_unit=world.sales,
                serving_unit=serving,
                spec=RECRUITMENT_SPEC,
                user=None,
                actor=SYSTEM,
            )
            if state != "submitted":
                demand = do_accept_demand(demand, plan="校园招聘 + 内推", user=None, actor=SYSTEM)
            if state in ("in_progress", "delivered"):
                demand = do_start_demand(demand, user=None, actor=SYSTEM)
            if state == "delivered":
                demand = do_deliver_demand(demand, user=None, actor=SYSTEM)
            demands[state] = demand
    return demands


def make_support_unit(world: World) -> OrgUnit:
    """A functional unit inside the sales department (its own HR support), so the sales head is both sides."""
    with tenant_context(world.tenant, SYSTEM):
        return make_unit(
            f"{world.tenant.slug}-S-HR",
            "销售支持组",
            world.sales,
            kind="team",
            unit_type="functional",
            category="hr",
        )


def make_head(world: World, unit: OrgUnit, username: str) -> Any:
    with tenant_context(world.tenant, SYSTEM):
        return do_create_user(
            username=username,
            password=PASSWORD,
            role=Role.UNIT_HEAD,
            scope_unit=unit,
            check_password=False,
            actor=SYSTEM,
        )


def at(day: str, hour: int = 9) -> dt.datetime:
    """A local (Asia/Shanghai) time on ``day``."""
    from django.utils import timezone

    return timezone.make_aware(dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour)))


def make_survey(world: World, *, rated: OrgUnit | None = None, title: str = "职能支持满意度调研") -> Any:
    """An open support survey (opening today) of ``rated`` (default HR), answered for the sales department by its
    head and, when HR is not the unit rated, for HR by HR's employee."""
    from perflink.collab.surveys import do_schedule_survey

    rated = rated or world.hr
    with tenant_context(world.tenant, SYSTEM):
        return do_schedule_survey(
            title=title,
            period="2026-03",
            rated_units=[rated],
            rating_units=[world.sales] if rated == world.hr else [world.sales, world.hr],
            respondent_roles=["unit_head", "employee"],
            opens_on=dt.date.today(),
            closes_on=dt.date.today() + dt.timedelta(days=7),
            actor=SYSTEM,
        )


def survey_answer_body(world: World) -> dict[str, Any]:
    """A valid answer to the first survey's first rated unit (every default question answered)."""
    from perflink.collab.models import Survey

    with tenant_context(world.tenant, SYSTEM):
        survey = Survey.objects.order_by("pk").first()
        if survey is None:
            return {"units": []}
        unit = survey.rated_units.order_by("pk").first()
        ratings = {q["key"]: "satisfied" for q in survey.questions}
    return {"units": [{"rated_unit_id": unit.pk if unit else 0, "ratings": ratings, "comment": ""}]}

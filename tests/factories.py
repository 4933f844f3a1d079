"""Small factories for tests: a tenant with a little org tree, users of every role, employees.

Everything is created through the action layer, inside the tenant's context, so tests exercise the
same code as the product."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from perflink.accounts.actions import do_create_user
from perflink.accounts.choices import Role
from perflink.core.context import SYSTEM, tenant_context
from perflink.incentives.library import FINANCE_PLAN
from perflink.org.actions import do_create_employee, do_create_unit
from perflink.org.models import Employee, OrgUnit
from perflink.tenancy.actions import do_create_tenant
from perflink.tenancy.models import Tenant

PASSWORD = "Perflink-test-2026!"
_counter = itertools.count(1)


@dataclass
class World:
    """One tenant with: a group, a sales branch (business) with a team, an HR department (functional),
    an agent, a staff member, and one user per role."""

    tenant: Tenant
    group: OrgUnit
    sales: OrgUnit
    sales_team: OrgUnit
    hr: OrgUnit
    agent: Employee
    staff: Employee
    users: dict[str, Any] = field(default_factory=dict)


def make_unit(
    code: str,
    name: str,
    parent: OrgUnit | None,
    *,
    kind: str = "department",
    unit_type: str = "business",
    category: str = "sales",
) -> OrgUnit:
    return do_create_unit(
        code=code,
        name=name,
        kind=kind,
        unit_type=unit_type,
        category=category,
        parent=parent,
        opened_on=date(2020, 1, 1),
        actor=SYSTEM,
    )


def make_employee(
    unit: OrgUnit, *, employee_no: str | None = None, name: str = "张三", etype: str = "staff", **extra: Any
) -> Employee:
    fields: dict[str, Any] = {
        "employee_no": employee_no or f"E{next(_counter):06d}",
        "name": name,
        "unit": unit,
        "employment_type": etype,
        "hire_date": date(2023, 3, 1),
        "id_number": "110101199001011234",
        "mobile": "13812345678",
        "bank_account": "6222021234567890123",
    }
    fields.update(extra)
    return do_create_employee(actor=SYSTEM, **fields)


def make_world(slug: str) -> World:
    tenant = do_create_tenant(slug=slug, name=f"{slug} 保险集团")
    with tenant_context(tenant, SYSTEM):
        group = make_unit(
            f"{slug}-G", f"{slug}集团", None, kind="group", unit_type="management", category="general"
        )
        sales = make_unit(f"{slug}-S", "个险销售部", group)
        team = make_unit(f"{slug}-S1", "销售一组", sales, kind="team")
        hr = make_unit(f"{slug}-HR", "人力资源部", group, unit_type="functional", category="hr")
        agent = make_employee(team, name="李四", etype="agent")
        staff = make_employee(hr, name="王五")
        world = World(tenant, group, sales, team, hr, agent, staff)
        for role in Role.values:
            world.users[role] = do_create_user(
                username=f"{role}@{slug}",
                password=PASSWORD,
                role=role,
                employee=staff if role == Role.EMPLOYEE else None,
                scope_unit=sales if role == Role.UNIT_HEAD else None,
                check_password=False,
                actor=SYSTEM,
            )
    return world


def push(kind: str, records: list[dict[str, Any]]) -> Any:
    """Ingest records of a kind through the push path (inside the tenant's context)."""
    from perflink.ingest.actions import do_push_records

    return do_push_records(kind, records, actor=SYSTEM)


def make_scores(world: World, period: str = "2026-03") -> Any:
    """The metric library, three policies of the world's agent and a calculation run of ``period``.

    Agent 李四 sells 30,000 + 50,000 in March 2026 (and 20,000 in February); returns the run.
    """
    from perflink.metrics.actions import do_calculate, do_install_library

    with tenant_context(world.tenant, SYSTEM):
        do_install_library(years=range(2025, 2028), actor=SYSTEM)
        team, agent = world.sales_team.code, world.agent.employee_no
        push(
            "policy",
            [
                {
                    "policy_no": f"P-{world.tenant.slug}-{i}",
                    "product_line": "life",
                    "agent": agent,
                    "unit": team,
                    "applied_on": day,
                    "issued_on": day,
                    "first_year_premium": fyp,
                    "annualised_premium": fyp,
                    "status": "in_force",
                }
                for i, (day, fyp) in enumerate(
                    [("2026-03-02", "30000"), ("2026-03-31", "50000"), ("2026-02-10", "20000")]
                )
            ],
        )
        return do_calculate(period, actor=SYSTEM, as_of=date(2026, 11, 1))


def make_link(world: World, rationale: str = "招聘速度影响新人产能") -> Any:
    """A proposed link from HR's time-to-fill to the sales department's new-agent attainment (needs the
    library: call make_scores first)."""
    from perflink.incentives.actions import do_propose_link
    from perflink.metrics.models import MetricDefinition

    with tenant_context(world.tenant, SYSTEM):
        return do_propose_link(
            functional_unit=world.hr,
            functional_metric=MetricDefinition.objects.get(code="time_to_fill_days"),
            business_unit=world.sales,
            business_metric=MetricDefinition.objects.get(code="new_agent_attainment_3m"),
            rationale=rationale,
            actor=SYSTEM,
        )


def make_plan(world: World, name: str = "财务部激励方案") -> Any:
    """The finance plan of DOMAIN.md for the finance category (needs the library: call make_scores first)."""
    from perflink.incentives.actions import do_save_plan

    with tenant_context(world.tenant, SYSTEM):
        return do_save_plan(
            code="finance",
            name=name,
            definition=FINANCE_PLAN,
            valid_from=date(2026, 1, 1),
            category="finance",
            actor=SYSTEM,
        )


def make_bonus_runs(world: World) -> dict[str, Any]:
    """Bonus runs of HR plans for March 2026 in each state: draft, submitted, approved, published (needs
    make_scores), each of its own plan (hr-bonus, hr-bonus-submitted, …), since one plan and period has at most
    one payable run. The submitter and approver are other people than the test's principals."""
    from perflink.core.context import Actor
    from perflink.incentives.actions import do_save_plan
    from perflink.incentives.bonus import (
        do_approve_bonus_run,
        do_publish_bonus_run,
        do_run_bonus,
        do_submit_bonus_run,
    )

    submitter, approver = (
        Actor("user", None, "submitter@elsewhere"),
        Actor("user", None, "approver@elsewhere"),
    )
    with tenant_context(world.tenant, SYSTEM):
        runs = {}
        for state in ("draft", "submitted", "approved", "published"):
            plan = do_save_plan(
                code="hr-bonus" if state == "draft" else f"hr-bonus-{state}",
                name="人力激励",
                definition=FINANCE_PLAN,
                valid_from=date(2026, 1, 1),
                category="hr",
                actor=SYSTEM,
            ).plan
            runs[state] = do_run_bonus(plan, "2026-03", actor=SYSTEM)
        for state in ("submitted", "approved", "published"):
            do_submit_bonus_run(runs[state], user=None, actor=submitter)
        for state in ("approved", "published"):
            do_approve_bonus_run(runs[state], user=None, actor=approver)
        do_publish_bonus_run(runs["published"], actor=approver)
        for run in runs.values():
            run.refresh_from_db()
    return runs

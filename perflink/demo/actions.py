"""Load the demo insurer into a tenant: one transaction for everything, audited, with demo logins.

`do_load_demo` creates the tenant when it is missing. An existing tenant is refused unless `replace`
is set; replacing drops the tenant's rows first, and only for a tenant the demo generator made (or an
empty one). The audit trail is append-only and is kept: the drop is itself recorded as `demo.replace`.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.apps import apps
from django.db import connection, models, transaction

from perflink.accounts.actions import do_create_user
from perflink.accounts.choices import Role
from perflink.accounts.models import User
from perflink.audit.actions import record_event
from perflink.audit.models import AuditChainHead, AuditEvent
from perflink.core.context import SYSTEM, Actor, tenant_context
from perflink.core.errors import Conflict
from perflink.core.models import TenantOwned
from perflink.demo.calendar import NA, month_add
from perflink.demo.generate import DemoConfig, DemoData, generate
from perflink.demo.load import Writer, write_demo
from perflink.org.models import Employee, OrgUnit
from perflink.tenancy.actions import do_create_tenant
from perflink.tenancy.models import Tenant

DEMO_PASSWORD = "Perflink@2026"  # noqa: S105 (documented demo password, printed by the command)
# (login prefix, role, what the login is for)
DEMO_LOGINS = (
    ("admin", Role.TENANT_ADMIN, "tenant administrator"),
    ("perf", Role.PERFORMANCE_ADMIN, "performance administrator"),
    ("head", Role.UNIT_HEAD, "unit head of a branch's life sales department"),
    ("agent", Role.EMPLOYEE, "a life insurance agent (employee self-service)"),
    ("auditor", Role.AUDITOR, "auditor"),
)
KEPT_ON_REPLACE = (AuditEvent, AuditChainHead)  # append-only: never deleted


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    purpose: str
    employee: str  # "name (employee number)" or ""
    scope: str  # data-scope unit name or ""


@dataclass(frozen=True)
class DemoLoad:
    tenant: Tenant
    counts: dict[str, int]
    logins: list[DemoLogin]
    dropped: dict[str, int] | None
    seconds: dict[str, float] = field(default_factory=dict)  # wall time of each step


def demo_logins(slug: str) -> list[str]:
    return [f"{prefix}@{slug}" for prefix, _, _ in DEMO_LOGINS]


def do_load_demo(
    *,
    slug: str,
    name: str,
    config: DemoConfig,
    replace: bool = False,
    actor: Actor = SYSTEM,
    calculate_months: int = 24,
) -> DemoLoad:
    """Generate the demo (outside the transaction: it is pure) and write it in one transaction; then install
    the metric library and calculate the last ``calculate_months`` months (all but the latest published), so
    scorecards are there on first login."""
    started = time.perf_counter()
    data = generate(config)
    seconds = {"generate": time.perf_counter() - started}
    with transaction.atomic():
        tenant = Tenant.objects.filter(slug=slug).first()
        existed = tenant is not None
        if tenant is None:
            tenant = do_create_tenant(slug=slug, name=name, actor=actor)
        elif not replace:
            raise Conflict(
                f"tenant {slug!r} already exists; pass --replace to drop its data and load the demo again",
                field="tenant",
                code="tenant_exists",
            )
        dropped = None
        with tenant_context(tenant, actor):
            if existed and _has_data():
                _check_replaceable(tenant)
                dropped = drop_tenant_data(tenant)
                record_event(
                    "demo.replace", ("tenancy.tenant", tenant.pk, tenant.name), after={"deleted": dropped}
                )
            writer = write_demo(data, tenant, actor)
            seconds |= writer.seconds
            logins = _create_logins(data, writer, slug, actor)
            counts = dict(writer.counts)
            counts["users"] = len(logins)
            record_event(
                "demo.load", ("tenancy.tenant", tenant.pk, tenant.name), after=_summary(config, data, counts)
            )
    if calculate_months:
        started = time.perf_counter()
        with tenant_context(tenant, actor):
            counts["calculation_runs"] = _calculate_recent(config, calculate_months, actor, seconds)
        seconds["calculate"] = time.perf_counter() - started - seconds.get("collaboration", 0.0)
    return DemoLoad(tenant, counts, logins, dropped, seconds)


def _calculate_recent(
    config: DemoConfig, months: int, actor: Actor, seconds: dict[str, float] | None = None
) -> int:
    from perflink.demo.collab import load_collaboration
    from perflink.engine.periods import Period
    from perflink.metrics.actions import do_calculate, do_install_library, do_publish_run

    end = Period.parse(config.end_month.strftime("%Y-%m"))
    do_install_library(years=range(end.start.year - 2, end.start.year + 2), actor=actor)
    # Demands and surveys first: their evaluations and answers are records the month runs read.
    started = time.perf_counter()
    load_collaboration(config, actor=actor)
    if seconds is not None:
        seconds["collaboration"] = time.perf_counter() - started
    labels = [
        end.shifted(-back).start.strftime("%Y-%m") for back in range(min(months, config.months) - 1, -1, -1)
    ]
    for i, label in enumerate(labels):
        run = do_calculate(label, actor=actor)
        if i < len(labels) - 1:  # the latest month stays a draft, as it would before month-end review
            do_publish_run(run, actor=actor)
    _link_and_pay(labels, actor)
    _weekly_reports(end.end - dt.timedelta(days=1), actor)
    return len(labels)


def _weekly_reports(last_day: dt.date, actor: Actor, weeks: int = 4) -> None:
    """The weekly coordination reports of the demo's last full weeks, as the Monday job would have made them."""
    from perflink.collab.weekly_actions import do_generate_weekly_reports

    monday = last_day - dt.timedelta(days=last_day.weekday())
    if last_day.weekday() < 6:  # the last week is not over yet
        monday -= dt.timedelta(days=7)
    for back in range(weeks - 1, -1, -1):
        start = monday - dt.timedelta(days=7 * back)
        do_generate_weekly_reports(start, today=start + dt.timedelta(days=7), actor=actor)


def _link_and_pay(labels: list[str], actor: Actor) -> None:
    """Links of head@'s branch (two confirmed by head@, the sales department's head; two waiting for the business
    side), DOMAIN.md's finance plan, and a draft bonus run of the latest month."""

    from perflink.accounts.models import User
    from perflink.incentives.actions import do_decide_link, do_propose_link, do_save_plan
    from perflink.incentives.bonus import do_run_bonus
    from perflink.incentives.library import FINANCE_PLAN, HR_PLAN
    from perflink.metrics.actions import do_calculate
    from perflink.metrics.models import MetricDefinition
    from perflink.org.models import OrgUnit

    head = (
        User.objects.filter(role=Role.UNIT_HEAD, scope_unit__isnull=False, username__startswith="head@")
        .order_by("pk")
        .first()
    )
    if head is None or head.scope_unit is None or head.scope_unit.parent_id is None:
        return
    sales, branch = head.scope_unit, head.scope_unit.parent
    units = {u.category: u for u in OrgUnit.objects.filter(parent=branch, kind="department")}
    metric = {m.code: m for m in MetricDefinition.objects.all()}
    as_head = Actor("user", head.pk, head.username)
    plan = [
        (
            "hr",
            "time_to_fill_days",
            sales,
            "new_agent_attainment_3m",
            "招聘越快，新人越早到岗，首季度有完整时间冲刺业绩。",
            True,
        ),
        ("it", "system_availability", sales, "new_policies", "核心出单系统可用，代理人才能出单。", True),
        (
            "hr",
            "arrival_within_10_days",
            sales,
            "new_business_premium",
            "开门红期间新人 10 天内到岗，直接决定新单保费。",
            False,
        ),
        (
            "finance",
            "claim_payment_days",
            units.get("claims"),
            "claim_cycle_days",
            "赔款支付时效决定理赔周期。",
            False,
        ),
    ]
    for category, functional, business, outcome, why, confirm in plan:
        if category not in units or business is None or functional not in metric or outcome not in metric:
            continue
        link = do_propose_link(
            functional_unit=units[category],
            functional_metric=metric[functional],
            business_unit=business,
            business_metric=metric[outcome],
            rationale=why,
            actor=actor,
        )
        if confirm:
            do_decide_link(link, confirm=True, note="业务部门确认", user=head, actor=as_head)
    _confirm_claims_links(branch, metric, actor)
    first = dt.date.fromisoformat(f"{labels[0]}-01")
    version = do_save_plan(
        code="finance",
        name="财务部激励方案",
        definition=_demo_finance_plan(FINANCE_PLAN),
        valid_from=first,
        category="finance",
        note="DOMAIN.md 理赔-财务联动示例；理赔周期目标按本公司理赔部考核目标取 5 天",
        actor=actor,
    )
    hr_plan = do_save_plan(
        code="hr",
        name="人力资源部激励方案",
        definition=HR_PLAN,
        valid_from=first,
        category="hr",
        note="DOMAIN.md §2.6：人力资源部奖金的 30% 与销售新人业绩达成挂钩；协同需求得分计入",
        actor=actor,
    )
    # A bonus run reads the links and matured cohorts its calculation run stored: the latest month is calculated
    # again now that the links are confirmed and the plans read their cohorts, as an administrator would.
    do_calculate(labels[-1], actor=actor)
    do_run_bonus(version.plan, labels[-1], actor=actor)
    do_run_bonus(hr_plan.plan, labels[-1], actor=actor)


def _demo_finance_plan(plan: dict[str, Any]) -> dict[str, Any]:
    """DOMAIN.md's finance plan with the claims-cycle target of the demo insurer's claims template (5 days, not
    DOMAIN.md's 2: the demo's claims cycles run 2.6–11 days, so a 2-day target would always take the −10%
    branch and the demo would never show the payment-time bands)."""
    import copy

    adopted = copy.deepcopy(plan)
    for component in adopted["components"]:
        if component["source"] == "linked:claim_cycle_days":
            component["factor"]["bands"][0]["upto"] = "5"
    for multiplier in adopted["multipliers"]:
        if multiplier.get("when", {}).get("input") == "linked:claim_cycle_days":
            multiplier["when"]["value"] = "5"
    return adopted


def _confirm_claims_links(head_branch: Any, metric: dict[str, Any], actor: Actor) -> None:
    """In every other branch, finance's payment time linked to the claims department's cycle and confirmed by
    that claims department's head (an account that confirmed it and does not log in to the demo), so the finance
    plan pays by DOMAIN.md's rule there; head@'s branch keeps its link waiting, and its statements say so."""
    from perflink.demo.collab import department_head
    from perflink.incentives.actions import do_decide_link, do_propose_link
    from perflink.org.models import OrgUnit

    if "claim_payment_days" not in metric or "claim_cycle_days" not in metric:
        return
    branches = OrgUnit.objects.filter(parent_id=head_branch.parent_id, kind=head_branch.kind).exclude(
        pk=head_branch.pk
    )
    for branch in branches.order_by("code"):
        units = {u.category: u for u in OrgUnit.objects.filter(parent=branch, kind="department")}
        if "claims" not in units or "finance" not in units:
            continue
        # The collaboration story may have made this head already (a survey respondent of its branch).
        claims_head = department_head(branch, units["claims"], "claims", actor)
        link = do_propose_link(
            functional_unit=units["finance"],
            functional_metric=metric["claim_payment_days"],
            business_unit=units["claims"],
            business_metric=metric["claim_cycle_days"],
            rationale="赔款支付时效决定理赔周期。",
            actor=actor,
        )
        do_decide_link(
            link,
            confirm=True,
            note="理赔部确认",
            user=claims_head,
            actor=Actor("user", claims_head.pk, claims_head.username),
        )


def _summary(config: DemoConfig, data: DemoData, counts: dict[str, int]) -> dict[str, Any]:
    return {
        "seed": config.seed,
        "employees": config.employees,
        "months": config.months,
        "period": f"{data.cal.first_month:%Y-%m}..{config.end_month:%Y-%m}",
        "as_of": data.cal.as_of.isoformat(),
        "counts": counts,
    }


# --- logins ------------------------------------------------------------------------------------------


def _create_logins(data: DemoData, writer: Writer, slug: str, actor: Actor) -> list[DemoLogin]:
    """One user per role. The unit head sees the first branch's life sales department; the employee login
    belongs to the busiest established agent of that department."""
    org, wf = data.org, data.wf
    sales_dept = org.branch_unit("sales", 0)
    head = int(np.flatnonzero(wf.is_head & (wf.unit0 == sales_dept))[0])
    policies = np.bincount(data.records["policy"]["agent"], minlength=len(wf))
    teams = org.units_of("sales_team", 0)
    candidates = np.flatnonzero(
        wf.is_agent
        & ~wf.is_head
        & (wf.origin == 0)
        & (wf.exit_day == NA)
        & (wf.transfer_day == NA)
        & np.isin(wf.unit0, teams)
    )
    agent = int(candidates[np.lexsort((candidates, -policies[candidates]))[0]])
    names = wf.columns["name"]
    numbers = wf.columns["employee_no"]
    scope = OrgUnit.objects.get(pk=int(writer.unit_pk[sales_dept]))
    people = {"head": head, "agent": agent}
    titles = {"admin": "演示管理员", "perf": "绩效管理员", "auditor": "审计员"}
    logins = []
    for prefix, role, purpose in DEMO_LOGINS:
        who = people.get(prefix)
        employee = Employee.objects.get(pk=int(writer.employee_pk[who])) if who is not None else None
        full = names[who] if who is not None else titles[prefix]
        do_create_user(
            username=f"{prefix}@{slug}",
            password=DEMO_PASSWORD,
            role=str(role),
            first_name=full[1:],
            last_name=full[:1],
            employee=employee,
            scope_unit=scope if role == Role.UNIT_HEAD else None,
            check_password=False,
            actor=actor,
        )
        logins.append(
            DemoLogin(
                username=f"{prefix}@{slug}",
                role=str(role),
                purpose=purpose,
                employee=f"{names[who]} ({numbers[who]})" if who is not None else "",
                scope=f"{org.units[org.units[sales_dept].parent].name} {scope.name}"
                if role == Role.UNIT_HEAD
                else "",
            )
        )
    return logins


def existing_logins(tenant: Tenant) -> list[DemoLogin]:
    """The demo logins that exist in a tenant (for `--show-logins`)."""
    purposes = {prefix: purpose for prefix, _, purpose in DEMO_LOGINS}
    out = []
    with tenant_context(tenant):
        users = User.objects.filter(username__in=demo_logins(tenant.slug)).select_related(
            "employee", "scope_unit__parent"
        )
        by_name = {u.username: u for u in users}
        for username in demo_logins(tenant.slug):
            user = by_name.get(username)
            if user is None:
                continue
            employee = f"{user.employee.name} ({user.employee.employee_no})" if user.employee else ""
            scope = user.scope_unit
            where = (
                f"{scope.parent.name} {scope.name}"
                if scope and scope.parent
                else (scope.name if scope else "")
            )
            out.append(DemoLogin(username, user.role, purposes[username.split("@", 1)[0]], employee, where))
    return out


# --- replacing a demo tenant -------------------------------------------------------------------------


def _has_data() -> bool:
    """Whether the tenant in context has any rows besides its audit trail."""
    return any(m.objects.exists() for m in _tenant_models())


def _check_replaceable(tenant: Tenant) -> None:
    """Only a tenant the demo generator filled may be dropped: never a real insurer's data."""
    if not AuditEvent.objects.filter(action="demo.load").exists():
        raise Conflict(
            f"tenant {tenant.slug!r} holds data that demo-data did not create; refusing to drop it",
            field="tenant",
            code="not_a_demo_tenant",
        )


def _tenant_models() -> list[type[models.Model]]:
    return [
        m
        for m in apps.get_models()
        if issubclass(m, TenantOwned) and not m._meta.abstract and m not in KEPT_ON_REPLACE
    ]


def _delete_order(tenant_models: list[type[models.Model]]) -> list[type[models.Model]]:
    """Referencing tables before the tables they reference (self-references are one statement each)."""
    remaining = list(tenant_models)
    ordered: list[type[models.Model]] = []
    while remaining:
        for m in remaining:
            referenced_by_others = any(
                f.related_model is m
                for other in remaining
                if other is not m
                for f in other._meta.concrete_fields
                if f.is_relation
            )
            if not referenced_by_others:
                ordered.append(m)
                remaining.remove(m)
                break
        else:  # a cycle between tables: FK checks are deferred to commit, so any order works
            ordered.extend(remaining)
            break
    return ordered


def drop_tenant_data(tenant: Tenant) -> dict[str, int]:
    """Delete every tenant-owned row of `tenant` except the audit trail, with plain DELETE statements.

    Maintenance only (used by `demo-data --replace` inside its transaction). Refuses when a table that
    is not tenant-owned points at tenant rows, since those rows could not be found by tenant."""
    tenant_models = _tenant_models()
    owned = set(tenant_models) | set(KEPT_ON_REPLACE)
    link_tables: list[tuple[str, str, str, str]] = []  # (table, fk column, referenced table, its key)
    for m in apps.get_models(include_auto_created=True):
        if m in owned or issubclass(m, TenantOwned):
            continue
        for f in m._meta.concrete_fields:
            if f.is_relation and f.related_model in owned:
                if not m._meta.auto_created:
                    raise RuntimeError(
                        f"{m._meta.label} refers to {f.related_model._meta.label} but is not tenant-owned; "
                        "teach drop_tenant_data() about it before dropping a tenant"
                    )
                target = f.related_model._meta
                link_tables.append((m._meta.db_table, f.column, target.db_table, target.pk.column))
    q = connection.ops.quote_name
    deleted: dict[str, int] = {}
    with connection.cursor() as cursor:
        for table, column, target, key in link_tables:
            cursor.execute(
                f"DELETE FROM {q(table)} WHERE {q(column)} IN (SELECT {q(key)} FROM {q(target)} WHERE tenant_id = %s)",  # noqa: S608
                [tenant.pk],
            )
            if cursor.rowcount:
                deleted[table] = cursor.rowcount
        for m in _delete_order(tenant_models):
            cursor.execute(f"DELETE FROM {q(m._meta.db_table)} WHERE tenant_id = %s", [tenant.pk])  # noqa: S608
            if cursor.rowcount:
                deleted[m._meta.label] = cursor.rowcount
    return deleted


def period_label(config: DemoConfig) -> str:
    return f"{month_add(config.end_month, -(config.months - 1)):%Y-%m} .. {config.end_month:%Y-%m}"

"""A small but realistic insurer for browser tests and screenshots: a head office with functional
departments, three branches with sales, claims and service departments and their teams, staff and
agents with Chinese names, a unit that moved, a transfer and an exit, so every page has something true
to show. Built through the action layer (positions have no action yet, so they are created directly)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from perflink.accounts.actions import do_create_token, do_create_user
from perflink.accounts.choices import Role
from perflink.core.context import SYSTEM, tenant_context
from perflink.org.actions import (
    do_create_employee,
    do_create_unit,
    do_exit_employee,
    do_move_unit,
    do_transfer_employee,
)
from perflink.org.models import Employee, OrgUnit, Position
from perflink.tenancy.actions import do_create_tenant
from perflink.tenancy.models import Tenant

PASSWORD = "Perflink@2026"

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢傅钟姜崔谭廖范汪陆金石戴贾韦夏邱方侯邹熊孟秦白江阎薛尹段雷黎史龙陶贺顾毛郝龚邵万钱严覃武"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏飞斌辉婷雪琳晨宇浩然子涵思远梓萱欣怡一鸣佳琪志强建国海燕晓东文博雨桐俊熙嘉怡泽宇"

POSITIONS = [
    ("P-GM", "总经理", "General manager", True),
    ("P-DM", "部门经理", "Department manager", True),
    ("P-TL", "团队主管", "Team leader", True),
    ("P-AG", "保险代理人", "Insurance agent", False),
    ("P-SA", "销售专员", "Sales specialist", False),
    ("P-CA", "理赔专员", "Claims adjuster", False),
    ("P-CS", "客服专员", "Service representative", False),
    ("P-HR", "人力资源专员", "HR specialist", False),
    ("P-FI", "会计", "Accountant", False),
    ("P-IT", "系统工程师", "Systems engineer", False),
    ("P-AC", "精算师", "Actuary", False),
    ("P-UW", "核保员", "Underwriter", False),
    ("P-AD", "行政专员", "Administrative officer", False),
]

# (code suffix, name, English name, unit type, category, staff count, position code)
HQ_DEPARTMENTS = [
    ("HR", "人力资源部", "Human Resources", "functional", "hr", 9, "P-HR"),
    ("FIN", "财务会计部", "Finance & Accounting", "functional", "finance", 11, "P-FI"),
    ("IT", "信息技术部", "Information Technology", "functional", "it", 14, "P-IT"),
    ("ADM", "综合管理部", "General Administration", "functional", "admin", 6, "P-AD"),
    ("ACT", "产品精算部", "Product & Actuarial", "business", "product", 7, "P-AC"),
    ("UW", "核保核赔部", "Underwriting", "business", "underwriting", 8, "P-UW"),
]
BRANCHES = [
    ("BJ", "北京分公司", "Beijing Branch"),
    ("SH", "上海分公司", "Shanghai Branch"),
    ("GD", "广东分公司", "Guangdong Branch"),
]


@dataclass
class Insurer:
    tenant: Tenant
    head_office: OrgUnit
    units: dict[str, OrgUnit] = field(default_factory=dict)
    users: dict[str, Any] = field(default_factory=dict)
    employees: list[Employee] = field(default_factory=list)


def _name(rng: random.Random) -> str:
    given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")
    return rng.choice(SURNAMES) + given


def build_insurer(slug: str = "huaan", *, agents_per_team: int = 8, seed: int = 2026) -> Insurer:
    """Create the tenant, its tree, people, users (password PASSWORD) and a couple of API tokens."""
    rng = random.Random(seed)
    tenant = do_create_tenant(slug=slug, name="华安人寿保险股份有限公司")
    counter = iter(range(100001, 999999))
    opened = date(2016, 1, 1)
    with tenant_context(tenant, SYSTEM):
        positions = {
            code: Position.objects.create(code=code, name=name, name_en=name_en, is_manager=mgr)
            for code, name, name_en, mgr in POSITIONS
        }

        def unit(
            code: str, name: str, name_en: str, parent: OrgUnit | None, kind: str, utype: str, cat: str
        ) -> OrgUnit:
            # Codes carry the creation order, so the tree (ordered by code) reads head office first.
            u = do_create_unit(
                code=f"{slug}-{len(ins.units) + 1:03d}-{code}",
                name=name,
                name_en=name_en,
                kind=kind,
                unit_type=utype,
                category=cat,
                parent=parent,
                opened_on=opened,
                actor=SYSTEM,
            )
            ins.units[code] = u
            return u

        def person(u: OrgUnit, pos: str, etype: str = "staff", manager: Employee | None = None) -> Employee:
            no = next(counter)
            hire = date(2017, 1, 1) + timedelta(days=rng.randrange(0, 3000))
            emp = do_create_employee(
                actor=SYSTEM,
                employee_no=f"{'A' if etype == 'agent' else 'E'}{no}",
                name=_name(rng),
                gender=rng.choice("MF"),
                unit=u,
                position=positions[pos],
                manager=manager,
                employment_type=etype,
                hire_date=hire,
                email="" if etype == "agent" else f"e{no}@huaan-life.example",
                id_number=f"11010{rng.randrange(1, 9)}19{rng.randrange(70, 99)}0{rng.randrange(1, 9)}1{rng.randrange(10, 28)}{rng.randrange(1000, 9999)}",
                mobile=f"13{rng.randrange(100000000, 999999999)}",
                bank_account=f"6222{rng.randrange(10**14, 10**15 - 1)}",
            )
            ins.employees.append(emp)
            return emp

        ins = Insurer(tenant=tenant, head_office=None)  # type: ignore[arg-type]
        hq = unit("HQ", "华安人寿总公司", "Huaan Life Head Office", None, "company", "management", "general")
        ins.head_office = hq
        ceo = person(hq, "P-GM")
        for code, name, name_en, utype, cat, n, pos in HQ_DEPARTMENTS:
            dept = unit(code, name, name_en, hq, "department", utype, cat)
            head = person(dept, "P-DM", manager=ceo)
            for _ in range(n):
                person(dept, pos, manager=head)
        for bcode, bname, ben in BRANCHES:
            branch = unit(bcode, bname, ben, hq, "branch", "management", "general")
            gm = person(branch, "P-GM", manager=ceo)
            sales = unit(
                f"{bcode}-SAL", "个险销售部", "Individual Sales", branch, "department", "business", "sales"
            )
            sales_head = person(sales, "P-DM", manager=gm)
            for i, team_name in enumerate(["营销一部", "营销二部", "营销三部"], start=1):
                team = unit(
                    f"{bcode}-SAL-{i}", team_name, f"Sales Team {i}", sales, "team", "business", "sales"
                )
                lead = person(team, "P-TL", manager=sales_head)
                for _ in range(agents_per_team + rng.randrange(0, 4)):
                    person(team, "P-AG", "agent", manager=lead)
            claims = unit(f"{bcode}-CLM", "理赔部", "Claims", branch, "department", "business", "claims")
            claims_head = person(claims, "P-DM", manager=gm)
            for j, team_name in enumerate(["医疗险理赔组", "重疾险理赔组"], start=1):
                team = unit(
                    f"{bcode}-CLM-{j}", team_name, f"Claims Team {j}", claims, "team", "business", "claims"
                )
                for _ in range(4 + rng.randrange(0, 3)):
                    person(team, "P-CA", manager=claims_head)
            service = unit(
                f"{bcode}-SVC", "客户服务部", "Customer Service", branch, "department", "business", "service"
            )
            for _ in range(5):
                person(service, "P-CS", manager=gm)
            hr = unit(f"{bcode}-HR", "人力资源部", "Branch HR", branch, "department", "functional", "hr")
            for _ in range(3):
                person(hr, "P-HR", manager=gm)
            fin = unit(
                f"{bcode}-FIN", "财务部", "Branch Finance", branch, "department", "functional", "finance"
            )
            for _ in range(3):
                person(fin, "P-FI", manager=gm)

        # History worth showing: a team that moved between departments, a transfer, an exit.
        do_move_unit(
            ins.units["SH-SAL-3"], new_parent=ins.units["SH-SVC"], effective=date(2024, 7, 1), actor=SYSTEM
        )
        do_move_unit(
            ins.units["SH-SAL-3"], new_parent=ins.units["SH-SAL"], effective=date(2025, 1, 1), actor=SYSTEM
        )
        movers = [e for e in ins.employees if e.employment_type == "agent"][:3]
        do_transfer_employee(movers[0], unit=ins.units["GD-SAL-1"], effective=date(2025, 3, 1), actor=SYSTEM)
        do_exit_employee(movers[1], exit_date=date(2025, 6, 30), actor=SYSTEM)

        for role, username, first, last, scope in [
            (Role.TENANT_ADMIN, f"admin@{slug}", "周明", "", None),
            (Role.PERFORMANCE_ADMIN, f"perf.chen@{slug}", "陈静", "", None),
            (Role.UNIT_HEAD, f"head.bj@{slug}", "刘磊", "", ins.units["BJ"]),
            (Role.AUDITOR, f"audit.xu@{slug}", "徐敏", "", None),
        ]:
            ins.users[role] = do_create_user(
                username=username,
                password=PASSWORD,
                role=role,
                first_name=first,
                last_name=last,
                scope_unit=scope,
                check_password=False,
                actor=SYSTEM,
            )
        do_create_token(
            name="理赔系统（生产）",
            permissions=["ingest.push"],
            created_by=ins.users[Role.TENANT_ADMIN],
            actor=SYSTEM,
        )
        do_create_token(
            name="HR 系统同步",
            permissions=["employee.view", "ingest.push", "org.view"],
            created_by=ins.users[Role.TENANT_ADMIN],
            actor=SYSTEM,
        )
    return ins

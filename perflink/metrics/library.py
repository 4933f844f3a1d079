"""The product library: ready-made metrics, seasons and templates a tenant installs and then edits as its own.

Pure data (no Django models), in the engine's formats: a metric's ``definition`` is what
:func:`perflink.engine.metrics.parse_metric` reads, a template item's ``rule`` what
:func:`perflink.engine.scoring.parse_rule` reads. ``actions.do_install_library`` copies it into a tenant.

Conventions of the definitions:

* Averages and shares need at least 3 records before they are scored; counts and sums are real zeros without
  records (``min_count`` 0).
* A derived metric's record count is the smallest of its inputs' counts, so a real zero numerator (no agent sold
  anything) would read as "too few records": derived rates keep ``min_count`` 0 and are missing only when their
  denominator is empty (a division by zero gives no value).
* Functional departments are scored on the business they serve through ``scope: "parent"``: a branch's finance,
  HR or IT department reads its branch's value, which rolls up every team of the branch.
* Targets are monthly defaults for a sales team, a claims team, a branch department; a unit of another size
  (a sales department, a branch) gets its own target on the targets page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "METRICS",
    "PLANNED_METRICS",
    "SEASONS",
    "TEMPLATES",
    "LibraryMetric",
    "LibrarySeason",
    "LibraryTemplate",
    "LibraryVersion",
    "PlannedMetric",
    "metric",
    "season",
    "template",
]

Domain = Literal["sales", "claims", "hr", "finance", "it", "general"]


@dataclass(frozen=True)
class LibraryMetric:
    code: str
    name: str
    name_en: str
    description: str  # exactly what is counted, in Chinese
    description_en: str
    domain: Domain
    definition: Mapping[str, Any]  # engine format (see perflink.engine.metrics)


@dataclass(frozen=True)
class PlannedMetric:
    """A metric the product will offer once the records it needs exist."""

    code: str
    name: str
    name_en: str
    description: str
    description_en: str
    domain: Domain
    note: str  # what it waits for


@dataclass(frozen=True)
class LibrarySeason:
    code: str
    name: str
    name_en: str
    start: tuple[int, int]  # (month, day)
    end: tuple[int, int]  # (month, day), inclusive


@dataclass(frozen=True)
class LibraryVersion:
    season_code: str  # "" = the general version, in force outside the seasons
    note: str
    # Each item: {"metric": code, "weight": "30", "rule": {...}, "target": "100000" | None, "scope": "self" | "parent"}
    items: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class LibraryTemplate:
    code: str
    name: str
    name_en: str
    level: Literal["employee", "unit"]
    category: str  # org Category value
    employment_type: Literal["agent", "staff", ""]
    versions: tuple[LibraryVersion, ...]


# --------------------------------------------------------------------------------------------------------------
# Definition parts used again and again
# --------------------------------------------------------------------------------------------------------------

_NOT_CANCELLED = {
    "field": "status",
    "op": "ne",
    "value": "cancelled",
}  # cooling-off cancellations are no sale
_NEW_AGENT = {"field": "employee.employment_type", "op": "eq", "value": "agent"}
_BY_RECRUITER = {"unit": "requisition.recruiting_unit"}
_BY_REQUESTER = {"unit": "requisition.requesting_unit"}
_P1_P2 = {"field": "severity", "op": "in", "value": ["P1", "P2"]}


def _hours(start: str, end: str) -> dict[str, str]:
    return {"start": start, "end": end, "unit": "hours"}


def _days(start: str, end: str) -> dict[str, str]:
    return {"start": start, "end": end, "unit": "days"}


def _working_days(start: str, end: str) -> dict[str, str]:
    return {"start": start, "end": end, "unit": "working_days"}


def _premium_90d() -> dict[str, Any]:
    return {
        "premium_90d": {
            "kind": "policy",
            "match": {"agent": "employee"},
            "date_field": "issued_on",
            "agg": "sum",
            "field": "first_year_premium",
            "filters": [_NOT_CANCELLED],
        }
    }


def _exits_90d() -> dict[str, Any]:
    return {
        "exits_90d": {
            "kind": "exit",
            "match": {"employee": "employee"},
            "date_field": "exit_date",
            "agg": "count",
        }
    }


def _attainment(subject: Mapping[str, str]) -> dict[str, Any]:
    return {
        "kind": "hire",
        "date_field": "arrived_on",
        "window": {"type": "cohort", "days": 90},
        "filters": [_NEW_AGENT],
        "outcomes": _premium_90d(),
        "measure": {"agg": "share", "where": [{"field": "premium_90d", "op": "ge", "value": 100000}]},
        "subject": dict(subject),
        "direction": "higher",
        "unit": "%",
        "min_count": 3,
    }


def _retention(subject: Mapping[str, str]) -> dict[str, Any]:
    return {
        "kind": "hire",
        "date_field": "arrived_on",
        "window": {"type": "cohort", "days": 90},
        "filters": [_NEW_AGENT],
        "outcomes": _exits_90d(),
        "measure": {"agg": "share", "where": [{"field": "exits_90d", "op": "eq", "value": 0}]},
        "subject": dict(subject),
        "direction": "higher",
        "unit": "%",
        "min_count": 3,
    }


# --------------------------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------------------------

_SALES: tuple[LibraryMetric, ...] = (
    LibraryMetric(
        "new_business_premium",
        "新单保费",
        "New-business premium",
        "本期承保（承保日期在本期）保单的首年保费合计，不含犹豫期撤单；按代理人和销售机构统计。",
        "Sum of first-year premium of the policies issued in the period, cooling-off cancellations excluded; "
        "per agent and per sales unit.",
        "sales",
        {
            "kind": "policy",
            "date_field": "issued_on",
            "filters": [_NOT_CANCELLED],
            "measure": {"agg": "sum", "field": "first_year_premium"},
            "subject": {"employee": "agent", "unit": "unit"},
            "direction": "higher",
            "unit": "元",
            "min_count": 0,
        },
    ),
    LibraryMetric(
        "new_policies",
        "新单件数",
        "New policies",
        "本期承保的保单件数，不含犹豫期撤单；按代理人和销售机构统计。",
        "Number of policies issued in the period, cooling-off cancellations excluded; per agent and sales unit.",
        "sales",
        {
            "kind": "policy",
            "date_field": "issued_on",
            "filters": [_NOT_CANCELLED],
            "measure": {"agg": "count"},
            "subject": {"employee": "agent", "unit": "unit"},
            "direction": "higher",
            "unit": "件",
            "min_count": 0,
        },
    ),
    LibraryMetric(
        "persistency_13m",
        "13个月继续率",
        "13-month persistency",
        "13个月前同期承保的保单（不含犹豫期撤单）中，取数时仍有效（状态为有效）的件数占比。",
        "Of the policies issued in the same period 13 months earlier (cooling-off cancellations excluded), the "
        "share still in force at the time of calculation, by count.",
        "sales",
        {
            "kind": "policy",
            "date_field": "issued_on",
            "window": {"type": "lag", "months": 13},
            "filters": [_NOT_CANCELLED],
            "measure": {"agg": "share", "where": [{"field": "status", "op": "eq", "value": "in_force"}]},
            "subject": {"employee": "agent", "unit": "unit"},
            "direction": "higher",
            "unit": "%",
            "min_count": 3,
        },
    ),
    LibraryMetric(
        "active_agents",
        "活动人力",
        "Active agents",
        "本期至少承保一件保单（不含犹豫期撤单）的代理人人数，按代理人在花名册中的所属机构统计"
        "（与代理人人力口径一致，调动过的代理人不会使活动率超过100%）。",
        "Number of distinct agents with at least one policy issued in the period (cooling-off cancellations "
        "excluded), by the agent's unit in the roster (as the headcount, so a transferred agent cannot push the "
        "activity rate over 100%).",
        "sales",
        {
            "kind": "policy",
            "date_field": "issued_on",
            "filters": [_NOT_CANCELLED],
            "measure": {"agg": "distinct", "field": "agent"},
            "subject": {"unit": "agent.unit"},
            "direction": "higher",
            "unit": "人",
            "min_count": 0,
        },
    ),
    LibraryMetric(
        "agent_headcount",
        "代理人人力",
        "Agent headcount",
        "本期内在职过的代理人人数（入职日期早于期末，且未离职或离职日期不早于期初），按花名册所属机构统计。",
        "Number of agents on the books at some time in the period (hired before its end, not left before its "
        "start), by their unit in the roster.",
        "sales",
        {
            "kind": "employee",
            "date_field": "hire_date",
            "window": {"type": "active", "end_field": "exit_date"},
            "filters": [{"field": "employment_type", "op": "eq", "value": "agent"}],
            "measure": {"agg": "count"},
            "subject": {"unit": "unit"},
            "direction": "higher",
            "unit": "人",
            "min_count": 0,
        },
    ),
    LibraryMetric(
        "agent_activity_rate",
        "代理人活动率",
        "Agent activity rate",
        "活动人力 ÷ 代理人人力 × 100：本期至少出一单的代理人占在职代理人的比例。",
        "Active agents ÷ agent headcount × 100: the share of agents on the books who issued at least one "
        "policy in the period.",
        "sales",
        {
            "formula": "active_agents / agent_headcount * 100",
            "direction": "higher",
            "unit": "%",
            "min_count": 0,
        },
    ),
)

_HR: tuple[LibraryMetric, ...] = (
    LibraryMetric(
        "new_agent_attainment_3m",
        "新人三个月达成率",
        "New-agent 3-month attainment rate",
        "本期到岗的新代理人中，到岗后90天内承保保单（不含撤单）首年保费合计达到10万元的人数占比；"
        "归属提出招聘需求的业务部门。90天未满时为暂估值。",
        "Of the new agents who arrived in the period, the share whose policies issued within 90 days of "
        "arrival (cancellations excluded) total at least 100,000 yuan of first-year premium; attributed to the "
        "business unit that requested the hire. Provisional until the 90 days have passed.",
        "hr",
        _attainment(_BY_REQUESTER),
    ),
    LibraryMetric(
        "new_agent_attainment_3m_hr",
        "新人三个月达成率（招聘部门）",
        "New-agent 3-month attainment rate (recruiting unit)",
        "同“新人三个月达成率”，归属负责招聘的人力资源部门：到岗后90天内首年保费合计达到10万元的新代理人占比。",
        "As the new-agent 3-month attainment rate, attributed to the HR unit that recruited the agents: the "
        "share reaching 100,000 yuan of first-year premium within 90 days of arrival.",
        "hr",
        _attainment(_BY_RECRUITER),
    ),
    LibraryMetric(
        "new_agent_retention_3m",
        "新人三个月留存率",
        "New-agent 3-month retention",
        "本期到岗的新代理人中，到岗后90天内没有离职记录的人数占比；归属提出招聘需求的业务部门。90天未满时为暂估值。",
        "Of the new agents who arrived in the period, the share without an exit record within 90 days of "
        "arrival; attributed to the business unit that requested the hire. Provisional until the 90 days pass.",
        "hr",
        _retention(_BY_REQUESTER),
    ),
    LibraryMetric(
        "new_agent_retention_3m_hr",
        "新人三个月留存率（招聘部门）",
        "New-agent 3-month retention (recruiting unit)",
        "同“新人三个月留存率”，归属负责招聘的人力资源部门：到岗后90天内未离职的新代理人占比。",
        "As the new-agent 3-month retention, attributed to the HR unit that recruited the agents: the share "
        "without an exit record within 90 days of arrival.",
        "hr",
        _retention(_BY_RECRUITER),
    ),
    LibraryMetric(
        "time_to_fill_days",
        "招聘周期",
        "Time to fill",
        "本期到岗人员从招聘需求提出日期到到岗日期的平均天数，归属负责招聘的部门。",
        "Mean calendar days from the requisition's opening to arrival, over the hires who arrived in the "
        "period; attributed to the recruiting unit.",
        "hr",
        {
            "kind": "hire",
            "date_field": "arrived_on",
            "measure": {"agg": "mean", "duration": _days("requisition.opened_on", "arrived_on")},
            "subject": _BY_RECRUITER,
            "direction": "lower",
            "unit": "天",
            "min_count": 3,
        },
    ),
    LibraryMetric(
        "arrival_within_10_days",
        "10天到岗率",
        "Arrival within 10 days",
        "本期到岗且有录用日期的人员中，录用（发放offer）后10天内到岗的人数占比，归属负责招聘的部门。",
        "Of the hires who arrived in the period and have an offer date, the share who arrived within 10 "
        "calendar days of the offer; attributed to the recruiting unit.",
        "hr",
        {
            "kind": "hire",
            "date_field": "arrived_on",
            "filters": [{"field": "offer_on", "op": "not_null"}],
            "measure": {
                "agg": "share",
                "where": [{"duration": _days("offer_on", "arrived_on"), "op": "le", "value": 10}],
            },
            "subject": _BY_RECRUITER,
            "direction": "higher",
            "unit": "%",
            "min_count": 3,
        },
    ),
    LibraryMetric(
        "arrivals_on_time",
        "按期到岗人数",
        "Arrivals by the target date",
        "到岗期限在本期的招聘需求下，在到岗期限当天或之前到岗的人数，归属负责招聘的部门。",
        "Hires of the requisitions whose target date falls in the period who arrived on or before that target "
        "date; attributed to the recruiting unit.",
        "hr",
        {
            "kind": "hire",
            "date_field": "requisition.target_date",
            "filters": [
                {"field": "arrived_on", "op": "not_null"},
                {"field": "arrived_on", "op": "le", "other": "requisition.target_date"},
            ],
            "measure": {"agg": "count"},
            "subject": _BY_RECRUITER,
            "direction": "higher",
            "unit": "人",
            "min_count": 0,
        },
    ),
    LibraryMetric(
        "positions_due",
        "到期需求人数",
        "Positions due",
        "到岗期限在本期的招聘需求的需求人数合计，归属负责招聘的部门。",
        "Sum of the positions of the requisitions whose target date falls in the period; attributed to the "
        "recruiting unit.",
        "hr",
        {
            "kind": "requisition",
            "date_field": "target_date",
            "measure": {"agg": "sum", "field": "positions"},
            "subject": {"unit": "recruiting_unit"},
            "direction": "higher",
            "unit": "人",
            "min_count": 0,
        },
    ),
    LibraryMetric(
        "requisition_arrival_rate",
        "需求到岗率",
        "Arrival rate against requisitions",
        "按期到岗人数 ÷ 到期需求人数 × 100：到岗期限在本期的招聘需求中，按期到岗的人数占需求人数的比例"
        "（如需求20人、期限前到岗18人，为90%）。",
        "Arrivals by the target date ÷ positions due × 100, over the requisitions whose target date falls in "
        "the period (20 positions requested, 18 arrived in time: 90%).",
        "hr",
        {
            "formula": "arrivals_on_time / positions_due * 100",
            "direction": "higher",
            "unit": "%",
            "min_count": 0,
        },
    ),
    LibraryMetric(
        "new_hire_training_completion_rate",
        "新人培训完成率",
        "New-hire training completion rate",
        "本期到岗的新员工（含代理人）中，到岗后30天内至少完成一门培训的人数占比，按新人所属机构统计。",
        "Of the people who arrived in the period (agents and staff), the share who completed at least one "
        "training course within 30 days of arrival; by the new hire's unit.",
        "hr",
        {
            "kind": "hire",
            "date_field": "arrived_on",
            "window": {"type": "cohort", "days": 30},
            "outcomes": {
                "trainings_30d": {
                    "kind": "training",
                    "match": {"employee": "employee"},
                    "date_field": "completed_on",
                    "agg": "count",
                }
            },
            "measure": {"agg": "share", "where": [{"field": "trainings_30d", "op": "ge", "value": 1}]},
            "subject": {"unit": "employee.unit"},
            "direction": "higher",
            "unit": "%",
            "min_count": 3,
        },
    ),
    LibraryMetric(
        "training_pass_rate",
        "培训通过率",
        "Training pass rate",
        "本期完成且有考核结果的培训中，考核通过的人次占比；按学员及其所属机构统计。",
        "Of the training courses completed in the period with an exam result, the share passed; per trainee "
        "and the trainee's unit.",
        "hr",
        {
            "kind": "training",
            "date_field": "completed_on",
            "filters": [{"field": "passed", "op": "not_null"}],
            "measure": {"agg": "share", "where": [{"field": "passed", "op": "eq", "value": True}]},
            "subject": {"employee": "employee", "unit": "employee.unit"},
            "direction": "higher",
            "unit": "%",
            "min_count": 3,
        },
    ),
    LibraryMetric(
        "new_hire_training_pass_rate",
        "新人培训通过率",
        "New-hire training pass rate",
        "本期完成且有考核结果、学员入职不满90天的培训中，考核通过的人次占比；按学员所属机构统计。",
        "Of the training courses completed in the period with an exam result by people within 90 days of their "
        "hire date, the share passed; by the trainee's unit.",
        "hr",
        {
            "kind": "training",
            "date_field": "completed_on",
            "filters": [
                {"field": "passed", "op": "not_null"},
                {"duration": _days("employee.hire_date", "completed_on"), "op": "le", "value": 90},
            ],
            "measure": {"agg": "share", "where": [{"field": "passed", "op": "eq", "value": True}]},
            "subject": {"unit": "employee.unit"},
            "direction": "higher",
            "unit": "%",
            "min_count": 3,
        },
    ),
)

_CLAIMS: tuple[LibraryMetric, ...] = (
    LibraryMetric(
        "claim_cycle_days",
        "理赔周期",
        "Claim cycle time",
        "本期赔付的案件从报案到赔付的平均天数（按小时折算）；按理赔员和理赔机构统计。",
        "Mean days (fractional, from the hours) from report to payment of the claims paid in the period; per "
        "handler and claims unit.",
        "claims",
        {
            "kind": "claim",
            "date_field": "paid_at",
            "measure": {"agg": "mean", "duration": _days("reported_at", "paid_at")},
            "subject": {"employee": "handler", "unit": "unit"},
            "direction": "lower",
            "unit": "天",
            "min_count": 3,
        },
    ),
    LibraryMetric(
        "claim_payment_days",
        "赔款支付时效",
        "Claim payment time",
        "本期赔付的案件从核赔通过到赔款支付的平均天数（按小时折算）；按理赔员和理赔机构统计，"
        "财务部门按所在分公司的理赔案件考核。",
        "Mean days (fractional) from claim approval to payment of the claims paid in the period; per handler and "
        "claims unit. A branch's finance department is scored on its branch's claims.",
        "finance",
        {
            "kind": "claim",
            "date_field": "paid_at",
            "measure": {"agg": "mean", "duration": _days("approved_at", "paid_at")},
            "subject": {"employee": "handler", "unit": "unit"},
            "direction": "lower",
            "unit": "天",
            "min_count": 3,
        },
    ),
    LibraryMetric(
        "claims_closed",
        "结案件数",
        "Claims closed",
        "本期结案（结案时间在本期）的案件数；按理赔员和理赔机构统计。",
        "Number of claims closed in the period; per handler and claims unit.",
        "claims",
        {
            "kind": "claim",
            "date_field": "closed_at",
            "measure": {"agg": "count"},
            "subject": {"employee": "handler", "unit": "unit"},
            "direction": "higher",
            "unit": "件",
            "min_count": 0,
        },
    ),
    LibraryMetric(
        "claims_handlers",
        "理赔人力",
        "Claims headcount",
        "本期内在职过的理赔条线内勤人数（所属机构为理赔类），按花名册所属机构统计。",
        "Number of staff of claims units on the books at some time in the period, by their unit in the roster.",
        "claims",
        {
            "kind": "employee",
            "date_field": "hire_date",
            "window": {"type": "active", "end_field": "exit_date"},
            "filters": [
                {"field": "employment_type", "op": "eq", "value": "staff"},
                {"field": "unit.category", "op": "eq", "value": "claims"},
            ],
            "measure": {"agg": "count"},
            "subject": {"unit": "unit"},
            "direction": "higher",
            "unit": "人",
            "min_count": 0,
        },
    ),
    LibraryMetric(
        "claims_closed_per_handler",
        "人均结案件数",
        "Claims closed per handler",
        "结案件数 ÷ 理赔人力：机构本期人均结案件数。",
        "Claims closed ÷ claims headcount: the unit's claims closed per person in the period.",
        "claims",
        {"formula": "claims_closed / claims_handlers", "direction": "higher", "unit": "件", "min_count": 0},
    ),
    LibraryMetric(
        "claim_backlog",
        "未决赔案",
        "Claims backlog",
        "期末未结案的案件数：报案时间早于期末，且未结案或结案时间不早于期末；按理赔员和理赔机构统计。",
        "Claims open at the end of the period: reported before its end and not closed before it; per handler "
        "and claims unit.",
        "claims",
        {
            "kind": "claim",
            "date_field": "reported_at",
            "window": {"type": "open_at_end", "end_field": "closed_at"},
            "measure": {"agg": "count"},
            "subject": {"employee": "handler", "unit": "unit"},
            "direction": "lower",
            "unit": "件",
            "min_count": 0,
        },
    ),
    LibraryMetric(
        "claim_backlog_per_handler",
        "人均未决赔案",
        "Backlog per handler",
        "未决赔案 ÷ 理赔人力：机构期末人均未结案件数。",
        "Claims backlog ÷ claims headcount: open claims per person at the end of the period.",
        "claims",
        {"formula": "claim_backlog / claims_handlers", "direction": "lower", "unit": "件", "min_count": 0},
    ),
    LibraryMetric(
        "claim_satisfaction_rate",
        "客户满意率",
        "Claimant satisfaction rate",
        "本期结案且客户作答满意度（1–5分）的案件中，评分4分及以上的占比；按理赔员和理赔机构统计。",
        "Of the claims closed in the period whose claimant answered the 1–5 satisfaction question, the share "
        "scoring 4 or 5; per handler and claims unit.",
        "claims",
        {
            "kind": "claim",
            "date_field": "closed_at",
            "filters": [{"field": "satisfaction", "op": "not_null"}],
            "measure": {"agg": "share", "where": [{"field": "satisfaction", "op": "ge", "value": 4}]},
            "subject": {"employee": "handler", "unit": "unit"},
            "direction": "higher",
            "unit": "%",
            "min_count": 3,
        },
    ),
    LibraryMetric(
        "claim_satisfaction_score",
        "客户满意度",
        "Claimant satisfaction score",
        "本期结案案件的客户满意度（1–5分）平均分，未作答的不计；按理赔员和理赔机构统计。",
        "Mean 1–5 satisfaction score of the claims closed in the period, unanswered ones left out; per handler "
        "and claims unit.",
        "claims",
        {
            "kind": "claim",
            "date_field": "closed_at",
            "measure": {"agg": "mean", "field": "satisfaction"},
            "subject": {"employee": "handler", "unit": "unit"},
            "direction": "higher",
            "unit": "分",
            "min_count": 3,
        },
    ),
)

_FINANCE: tuple[LibraryMetric, ...] = (
    LibraryMetric(
        "reimbursement_days",
        "报销时效",
        "Reimbursement turnaround",
        "本期支付的费用报销从提交申请到付款的平均工作日数（按法定工作日历）；按报销人所在机构统计，"
        "财务部门按所在分公司考核。",
        "Mean working days (statutory calendar) from request to payment of the expense reimbursements paid in "
        "the period; by the unit the payment serves. A branch's finance department is scored on its branch.",
        "finance",
        {
            "kind": "payment",
            "date_field": "paid_at",
            "filters": [{"field": "kind", "op": "eq", "value": "reimbursement"}],
            "measure": {"agg": "mean", "duration": _working_days("requested_at", "paid_at")},
            "subject": {"unit": "unit"},
            "direction": "lower",
            "unit": "工作日",
            "min_count": 3,
        },
    ),
    LibraryMetric(
        "commission_on_time_rate",
        "佣金发放及时率",
        "Commission payment timeliness",
        "本期提交的佣金发放申请中，在2个工作日内（提交日起算，不含付款当日）支付的笔数占比；尚未支付的计为未及时。"
        "按代理人所在机构统计。",
        "Of the commission payments requested in the period, the share paid within 2 working days of the "
        "request (counting the request day, not the payment day); unpaid ones count as late. By the agent's unit.",
        "finance",
        {
            "kind": "payment",
            "date_field": "requested_at",
            "filters": [{"field": "kind", "op": "eq", "value": "commission"}],
            "measure": {
                "agg": "share",
                "where": [{"duration": _working_days("requested_at", "paid_at"), "op": "le", "value": 2}],
            },
            "subject": {"unit": "unit"},
            "direction": "higher",
            "unit": "%",
            "min_count": 3,
        },
    ),
)

_IT: tuple[LibraryMetric, ...] = (
    LibraryMetric(
        "outage_hours",
        "重大故障时长",
        "Major outage hours",
        "本期开始的P1、P2级故障从开始到恢复的小时数合计，计入每个受影响机构；尚未恢复的故障不计。",
        "Sum of the hours from start to recovery of the P1 and P2 incidents that started in the period, counted "
        "for each affected unit; incidents not yet recovered are left out.",
        "it",
        {
            "kind": "incident",
            "date_field": "started_at",
            "filters": [_P1_P2],
            "measure": {"agg": "sum", "duration": _hours("started_at", "ended_at")},
            "subject": {"unit": "affected_units"},
            "direction": "lower",
            "unit": "小时",
            "min_count": 0,
        },
    ),
    LibraryMetric(
        "system_availability",
        "系统可用率",
        "System availability",
        "100 − 重大故障时长 ÷ 本期小时数 × 100：受影响机构在本期未受P1、P2级故障影响的时间占比。",
        "100 − major outage hours ÷ hours of the period × 100: the share of the period the affected unit's "
        "systems were free of P1/P2 outages.",
        "it",
        {
            "formula": "100 - outage_hours / period_hours * 100",
            "direction": "higher",
            "unit": "%",
            "min_count": 0,
        },
    ),
    LibraryMetric(
        "outage_transactions",
        "故障影响交易笔数",
        "Transactions hit by outages",
        "本期开始的各级故障所影响的交易笔数合计（如无法出单的投保、无法支付的赔款），计入每个受影响机构。",
        "Sum of the transactions affected by the incidents (any severity) that started in the period, such as "
        "policies that could not be issued; counted for each affected unit.",
        "it",
        {
            "kind": "incident",
            "date_field": "started_at",
            "measure": {"agg": "sum", "field": "affected_transactions"},
            "subject": {"unit": "affected_units"},
            "direction": "lower",
            "unit": "笔",
            "min_count": 0,
        },
    ),
    LibraryMetric(
        "incident_resolution_hours",
        "故障修复时长",
        "Incident resolution time",
        "本期开始且已恢复的各级故障从开始到恢复的平均小时数，按受影响机构统计。",
        "Mean hours from start to recovery of the incidents (any severity) that started in the period and have "
        "recovered, by affected unit.",
        "it",
        {
            "kind": "incident",
            "date_field": "started_at",
            "measure": {"agg": "mean", "duration": _hours("started_at", "ended_at")},
            "subject": {"unit": "affected_units"},
            "direction": "lower",
            "unit": "小时",
            "min_count": 3,
        },
    ),
)

# Business units' ratings of functional units' support, and the points functional units earn on business units'
# demands, from the collaboration module (ingested as survey_response and demand_evaluation records, so the
# metrics never import collaboration code).
_GENERAL: tuple[LibraryMetric, ...] = (
    LibraryMetric(
        "internal_support_satisfaction",
        "内部支持满意度",
        "Internal support satisfaction",
        "业务部门对职能部门支持的满意度调研：本期调研中每一题的得分（默认满意10分、一般5分、不满意0分）取平均，"
        "满分10分；按被评部门统计，不向上汇总，少于3份答卷不评分。",
        "Business units' rating of a functional unit's support in the period's survey: the mean points of every "
        "answer (satisfied 10, neutral 5, dissatisfied 0 by default), out of 10; per rated unit, not rolled up, "
        "not scored below 3 answers.",
        "general",
        {
            "kind": "survey_response",
            "date_field": "period_on",
            "filters": [{"field": "points", "op": "not_null"}],
            "measure": {"agg": "mean", "field": "points"},
            "subject": {"unit": "rated_unit", "rollup": False},
            "direction": "higher",
            "unit": "分",
            "min_count": 3,
        },
    ),
    LibraryMetric(
        "demand_points",
        "协同需求得分",
        "Collaboration demand points",
        "业务部门向职能部门提出的协同需求，按各自的评价规则在本期得到的平均分（如招聘需求：到岗率达标20分，"
        "新人三个月达成率每个百分点1分）；按承接部门统计，不向上汇总；暂定分在数据成熟后由最终分替换。",
        "The mean points of the collaboration demands evaluated in the period, each by its own rule (e.g. a "
        "recruitment demand: 20 points for meeting the arrival target plus 1 point per percentage point of new "
        "hires' 3-month attainment); per serving unit, not rolled up; a provisional score is replaced by the final "
        "one when the data mature.",
        "general",
        {
            "kind": "demand_evaluation",
            "date_field": "period_on",
            "filters": [{"field": "points", "op": "not_null"}],
            "measure": {"agg": "mean", "field": "points"},
            "subject": {"unit": "serving_unit", "rollup": False},
            "direction": "higher",
            "unit": "分",
            "min_count": 1,  # one evaluated demand is a score: it was measured by its own rule
        },
    ),
)

METRICS: list[LibraryMetric] = [*_SALES, *_HR, *_CLAIMS, *_FINANCE, *_IT, *_GENERAL]

PLANNED_METRICS: list[PlannedMetric] = []


# --------------------------------------------------------------------------------------------------------------
# Seasons
# --------------------------------------------------------------------------------------------------------------

SEASONS: list[LibrarySeason] = [
    LibrarySeason("kaimenhong", "开门红", "New-Year sales push", (1, 1), (3, 31)),
    LibrarySeason("flood", "汛期", "Flood season", (6, 1), (9, 30)),
]


# --------------------------------------------------------------------------------------------------------------
# Templates
# --------------------------------------------------------------------------------------------------------------


def _item(
    metric: str, weight: str, rule: Mapping[str, Any], target: str | None = None, *, parent: bool = False
) -> dict[str, Any]:
    return {
        "metric": metric,
        "weight": weight,
        "rule": dict(rule),
        "target": target,
        "scope": "parent" if parent else "self",
    }


# One point per percent of the target, capped at 120 points (20% over the target), never below 0.
_LINEAR_UP = {"kind": "linear", "per_point": "1", "cap": "120", "floor": "0", "direction": "higher"}
# Lower is better: target ÷ value × 100 points ("ratio"), capped at 120.
_LINEAR_DOWN = {"kind": "linear", "per_point": "1", "cap": "120", "floor": "0", "direction": "lower"}
# Lower is better and 0 is possible (counts, sums): each percent under the target adds a point ("deviation").
_LINEAR_DOWN_FROM_ZERO = {**_LINEAR_DOWN, "lower_attainment": "deviation"}
# §2.5 of the brief: one point per percentage point of the rate itself (target 100 makes attainment = the rate).
_POINT_PER_PERCENT = {"kind": "linear", "per_point": "1", "direction": "higher"}
_MET_UP = {"kind": "threshold", "points_met": "100", "points_missed": "0", "direction": "higher"}
_PERSISTENCY_BANDS = {
    "kind": "bands",
    "direction": "higher",
    "bands": [
        {"upto": "80", "inclusive": False, "points": "0"},
        {"upto": "85", "inclusive": False, "points": "60"},
        {"upto": "90", "inclusive": False, "points": "80"},
        {"upto": None, "points": "100"},
    ],
}
_AVAILABILITY_BANDS = {
    "kind": "bands",
    "direction": "higher",
    "bands": [
        {"upto": "99", "inclusive": False, "points": "0"},
        {"upto": "99.5", "inclusive": False, "points": "60"},
        {"upto": "99.9", "inclusive": False, "points": "80"},
        {"upto": None, "points": "100"},
    ],
}

# Every functional unit is also scored by the business: its support-satisfaction survey (0-10 → 10 points a point)
# and its demands' mean points (already points by each demand's rule). In a month without a survey or an
# evaluated demand these items have no value and the total is taken over the other items.
_SUPPORT_ITEMS = (
    _item("internal_support_satisfaction", "10", _LINEAR_UP, "10"),
    _item("demand_points", "10", _POINT_PER_PERCENT, "100"),
)

TEMPLATES: list[LibraryTemplate] = [
    LibraryTemplate(
        "life_agent",
        "寿险代理人",
        "Life sales agent",
        "employee",
        "sales",
        "agent",
        (
            LibraryVersion(
                "",
                "平时：新单保费为主，兼顾件数和13个月继续率（月度目标）。",
                (
                    _item("new_business_premium", "50", _LINEAR_UP, "30000"),
                    _item("new_policies", "30", _LINEAR_UP, "2"),
                    _item("persistency_13m", "20", _PERSISTENCY_BANDS),
                ),
            ),
            LibraryVersion(
                "kaimenhong",
                "开门红：新单保费为核心指标，权重和目标上调（月度目标）。",
                (
                    _item("new_business_premium", "70", _LINEAR_UP, "50000"),
                    _item("new_policies", "20", _LINEAR_UP, "3"),
                    _item("persistency_13m", "10", _PERSISTENCY_BANDS),
                ),
            ),
        ),
    ),
    LibraryTemplate(
        "life_sales_unit",
        "寿险销售机构",
        "Life sales unit",
        "unit",
        "sales",
        "",
        (
            LibraryVersion(
                "",
                "平时（销售团队的月度目标；销售部请在目标页设置本部目标）。",
                (
                    _item("new_business_premium", "40", _LINEAR_UP, "400000"),
                    _item("new_policies", "15", _LINEAR_UP, "25"),
                    _item("agent_activity_rate", "25", _LINEAR_UP, "60"),
                    _item("persistency_13m", "20", _PERSISTENCY_BANDS),
                ),
            ),
            LibraryVersion(
                "kaimenhong",
                "开门红：新单保费为核心指标（销售团队的月度目标）。",
                (
                    _item("new_business_premium", "60", _LINEAR_UP, "1000000"),
                    _item("new_policies", "15", _LINEAR_UP, "60"),
                    _item("agent_activity_rate", "15", _LINEAR_UP, "70"),
                    _item("persistency_13m", "10", _PERSISTENCY_BANDS),
                ),
            ),
        ),
    ),
    LibraryTemplate(
        "claims_handler",
        "理赔员",
        "Claims handler",
        "employee",
        "claims",
        "staff",
        (
            LibraryVersion(
                "",
                "平时：结案量、理赔周期和客户满意率（月度目标）。",
                (
                    _item("claims_closed", "40", _LINEAR_UP, "4"),
                    _item("claim_cycle_days", "30", _LINEAR_DOWN, "5"),
                    _item("claim_satisfaction_rate", "30", _LINEAR_UP, "80"),
                ),
            ),
            LibraryVersion(
                "flood",
                "汛期：案量激增，结案量权重上调。",
                (
                    _item("claims_closed", "50", _LINEAR_UP, "5"),
                    _item("claim_cycle_days", "30", _LINEAR_DOWN, "6"),
                    _item("claim_satisfaction_rate", "20", _LINEAR_UP, "75"),
                ),
            ),
        ),
    ),
    LibraryTemplate(
        "claims_unit",
        "理赔机构",
        "Claims unit",
        "unit",
        "claims",
        "",
        (
            LibraryVersion(
                "",
                "平时：理赔周期、客户满意率、人均结案和人均未决（月度目标）。",
                (
                    _item("claim_cycle_days", "30", _LINEAR_DOWN, "5"),
                    _item("claim_satisfaction_rate", "25", _LINEAR_UP, "80"),
                    _item("claims_closed_per_handler", "20", _LINEAR_UP, "4"),
                    _item("claim_backlog_per_handler", "25", _LINEAR_DOWN_FROM_ZERO, "1.5"),
                ),
            ),
            LibraryVersion(
                "flood",
                "汛期：案量激增，人均结案和未决控制权重上调。",
                (
                    _item("claim_cycle_days", "30", _LINEAR_DOWN, "6"),
                    _item("claim_satisfaction_rate", "20", _LINEAR_UP, "75"),
                    _item("claims_closed_per_handler", "25", _LINEAR_UP, "5"),
                    _item("claim_backlog_per_handler", "25", _LINEAR_DOWN_FROM_ZERO, "2"),
                ),
            ),
        ),
    ),
    LibraryTemplate(
        "hr_unit",
        "人力资源部",
        "HR unit",
        "unit",
        "hr",
        "",
        (
            LibraryVersion(
                "",
                "平时：新人留存率≥85%为核心，兼顾招聘周期、新人达成率和需求到岗率；业务部门的满意度和协同需求得分各占10%。",
                (
                    _item("new_agent_retention_3m_hr", "30", _MET_UP, "85"),
                    _item("time_to_fill_days", "15", _LINEAR_DOWN, "30"),
                    _item("new_agent_attainment_3m_hr", "25", _POINT_PER_PERCENT, "100"),
                    _item("requisition_arrival_rate", "10", _LINEAR_UP, "90"),
                    *_SUPPORT_ITEMS,
                ),
            ),
            LibraryVersion(
                "kaimenhong",
                "开门红：10天到岗率和新人培训通过率≥90%（按所在分公司的新人），加新人三个月达成率（每个百分点1分）；"
                "满意度和协同需求得分各占10%。",
                (
                    _item("arrival_within_10_days", "30", _MET_UP, "80"),
                    _item("new_hire_training_pass_rate", "30", _MET_UP, "90", parent=True),
                    _item("new_agent_attainment_3m_hr", "20", _POINT_PER_PERCENT, "100"),
                    *_SUPPORT_ITEMS,
                ),
            ),
        ),
    ),
    LibraryTemplate(
        "finance_unit",
        "财务部",
        "Finance unit",
        "unit",
        "finance",
        "",
        (
            LibraryVersion(
                "",
                "平时：按所在分公司的业务考核，赔款支付时效目标2天；满意度和协同需求得分各占10%。",
                (
                    _item("claim_payment_days", "25", _LINEAR_DOWN, "2", parent=True),
                    _item("claim_cycle_days", "15", _LINEAR_DOWN, "5", parent=True),
                    _item("reimbursement_days", "20", _LINEAR_DOWN, "3", parent=True),
                    _item("commission_on_time_rate", "20", _LINEAR_UP, "80", parent=True),
                    *_SUPPORT_ITEMS,
                ),
            ),
            LibraryVersion(
                "flood",
                "汛期：赔款支付时效目标收紧到1天，权重上调；满意度和协同需求得分各占10%。",
                (
                    _item("claim_payment_days", "35", _LINEAR_DOWN, "1", parent=True),
                    _item("claim_cycle_days", "15", _LINEAR_DOWN, "5", parent=True),
                    _item("reimbursement_days", "15", _LINEAR_DOWN, "3", parent=True),
                    _item("commission_on_time_rate", "15", _LINEAR_UP, "80", parent=True),
                    *_SUPPORT_ITEMS,
                ),
            ),
        ),
    ),
    LibraryTemplate(
        "it_unit",
        "信息技术部",
        "IT unit",
        "unit",
        "it",
        "",
        (
            LibraryVersion(
                "",
                "按所在分公司受影响机构的系统可用率、故障修复时长和故障影响交易考核；满意度和协同需求得分各占10%。",
                (
                    _item("system_availability", "35", _AVAILABILITY_BANDS, parent=True),
                    _item("incident_resolution_hours", "25", _LINEAR_DOWN, "1.5", parent=True),
                    _item("outage_transactions", "20", _LINEAR_DOWN_FROM_ZERO, "150", parent=True),
                    *_SUPPORT_ITEMS,
                ),
            ),
        ),
    ),
]


# --------------------------------------------------------------------------------------------------------------
# Look-ups
# --------------------------------------------------------------------------------------------------------------


def metric(code: str) -> LibraryMetric:
    for item in METRICS:
        if item.code == code:
            return item
    raise KeyError(code)


def season(code: str) -> LibrarySeason:
    for item in SEASONS:
        if item.code == code:
            return item
    raise KeyError(code)


def template(code: str) -> LibraryTemplate:
    for item in TEMPLATES:
        if item.code == code:
            return item
    raise KeyError(code)

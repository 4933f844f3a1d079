"""Collaboration in the demo insurer: demands between business and functional departments, and monthly support
surveys, over the last six months of the demo, tied to the generated HR, claims and IT records.

`load_collaboration` runs before the demo's month runs are calculated, so those runs read the survey answers
(`survey_response` records) and the demand evaluations (`demand_evaluation` records) like any other source.
Everything goes through the collaboration actions; the actions stamp their own clock (`timezone.now()`), so after
each step the demo moves the stamps of what it just wrote back to the day the story says (`_backdate_*`): the
demo replays six months of history in one go. The audit trail keeps the real time of the load.

head@ (the sales department's head of the first branch) raises and follows its branch's demands; the other
departments' heads are accounts that do not log in (random passwords), named `<department>-<branch>@<tenant>`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from perflink.accounts.actions import do_create_user
from perflink.accounts.choices import Role
from perflink.accounts.models import User
from perflink.collab.actions import (
    do_accept_demand,
    do_comment_demand,
    do_decline_demand,
    do_deliver_demand,
    do_evaluate_demand,
    do_evaluate_due_demands,
    do_raise_demand,
    do_request_change,
    do_start_demand,
)
from perflink.collab.models import Demand, DemandEvent, Survey, SurveyInvitation, SurveyResponse
from perflink.collab.surveys import (
    UnitAnswer,
    do_answer_survey,
    do_close_survey,
    do_remind_survey,
    do_schedule_survey,
)
from perflink.core.context import Actor, current_tenant
from perflink.demo.calendar import month_add
from perflink.demo.generate import DemoConfig, stream
from perflink.ingest.models import ClaimRecord, HireRecord, IncidentRecord, RequisitionRecord
from perflink.org.models import OrgUnit

HISTORY_MONTHS = 6  # demands and surveys cover the last six months of the demo
OTHER_BRANCHES = 3  # besides head@'s
SURVEY_SCALE = [
    {"key": "satisfied", "label": "满意", "points": "10"},
    {"key": "neutral", "label": "一般", "points": "5"},
    {"key": "dissatisfied", "label": "不满意", "points": "0"},
]
SURVEY_QUESTIONS = ["总体支持满意度", "响应速度与沟通"]
OPTIONS = ("satisfied", "neutral", "dissatisfied")
# Comments a business head might leave, by the rated department's category and the answer given.
COMMENTS: dict[str, dict[str, tuple[str, ...]]] = {
    "hr": {
        "satisfied": ("新人到岗很及时，岗前培训也扎实。", "招聘渠道拓宽了，候选人质量明显提升。"),
        "neutral": ("到岗速度还可以，希望培训更贴近产品。", "面试安排偶有延误。"),
        "dissatisfied": ("开门红前的招聘进度跟不上，影响了团队扩编。", "新人流失较多，希望加强入职辅导。"),
    },
    "finance": {
        "satisfied": ("汛期赔款支付很快，客户反馈不错。", "费用报销流程顺畅。"),
        "neutral": ("赔款支付时效尚可，月底偶有积压。", "佣金结算还算及时。"),
        "dissatisfied": ("大额赔款审批太慢，客户投诉多。", "佣金发放延迟，代理人意见较大。"),
    },
    "it": {
        "satisfied": ("移动展业App故障响应及时。", "系统运行稳定，出单顺畅。"),
        "neutral": ("系统总体稳定，高峰期偶尔卡顿。", "需求排期较长。"),
        "dissatisfied": ("出单系统月末多次宕机，影响业绩。", "故障恢复时间太长。"),
    },
}
# How satisfied each rated department's raters are, as (satisfied, neutral) probabilities at the start of the
# six months; satisfaction rises a little each month (the programme's effect), dissatisfied takes the rest.
BASE_MOOD = {"hr": (0.45, 0.40), "finance": (0.50, 0.38), "it": (0.40, 0.42)}
MONTHLY_GAIN = 0.03
# The systems agents sell through (perflink/demo/reference.py IT_SYSTEMS serving "sales").
SALES_SYSTEMS = ("移动展业App", "核心业务系统", "新契约出单系统")


@dataclass
class Branch:
    unit: OrgUnit
    depts: dict[str, OrgUnit]
    heads: dict[str, Any] = field(default_factory=dict)  # department category -> its head's account
    raters: list[Any] = field(default_factory=list)  # business heads invited to the surveys


@dataclass
class Story:
    """What the demo's collaboration contains, for the load's counts."""

    demands: int = 0
    surveys: int = 0
    answers: int = 0
    users: int = 0


def load_collaboration(config: DemoConfig, *, actor: Actor) -> dict[str, int]:
    """Demands and support surveys of head@'s branch and a few others over the last months. Deterministic for
    the config's seed; a no-op when the organisation has no sales head (not a demo tenant)."""
    head = User.objects.filter(role=Role.UNIT_HEAD, username__startswith="head@").order_by("pk").first()
    if head is None or head.scope_unit is None or head.scope_unit.parent is None:
        return {}
    with transaction.atomic():  # one commit for the whole story: each action inside is a savepoint
        return _load(config, head, actor)


def _load(config: DemoConfig, head: Any, actor: Actor) -> dict[str, int]:
    rng = stream(config.seed, "collab")
    months = [
        month_add(config.end_month, -back) for back in range(min(HISTORY_MONTHS, config.months) - 1, -1, -1)
    ]
    story = Story()
    home = _branch(head.scope_unit.parent)
    others = _other_branches(home.unit, months)
    branches = [home, *others]
    for branch in branches:
        story.users += _heads(branch, head if branch is home else None, actor)
    _home_demands(home, head, months, story, actor)
    for branch in others:
        _branch_demands(branch, months, story, actor)
    _month_end_jobs(months, actor)
    _surveys(branches, head, months, rng, story, actor)
    return {
        "collab_demands": story.demands,
        "collab_surveys": story.surveys,
        "collab_answers": story.answers,
        "collab_users": story.users,
    }


# --- who ---------------------------------------------------------------------------------------------------------


def _branch(unit: OrgUnit) -> Branch:
    depts = {u.category: u for u in OrgUnit.objects.filter(parent=unit, kind="department").order_by("code")}
    return Branch(unit, depts)


def _other_branches(home: OrgUnit, months: list[dt.date]) -> list[Branch]:
    """The branch with the most catastrophe-tagged claims in the window (a 汛期 to ask finance about) and the
    next branches by code, up to OTHER_BRANCHES."""
    siblings = list(OrgUnit.objects.filter(parent_id=home.parent_id, kind=home.kind).exclude(pk=home.pk))
    tagged = (
        ClaimRecord.objects.exclude(catastrophe_tag="")
        .filter(reported_at__gte=_at(months[0]))
        .values("unit__path")
        .annotate(n=Count("id"))
    )
    per_branch: dict[int, int] = {}
    for row in tagged:
        for b in siblings:
            if row["unit__path"].startswith(b.path):
                per_branch[b.pk] = per_branch.get(b.pk, 0) + row["n"]
    ranked = sorted(siblings, key=lambda b: (-per_branch.get(b.pk, 0), b.code))
    chosen = ranked[:1] + [b for b in sorted(siblings, key=lambda b: b.code) if b not in ranked[:1]]
    return [_branch(b) for b in chosen[:OTHER_BRANCHES]]


def _username(category: str, branch: OrgUnit, suffix: str = "") -> str:
    tenant = current_tenant()
    slug = tenant.slug if tenant else "demo"
    return f"{category}-{branch.code}{suffix}@{slug}".lower()


def department_head(branch: OrgUnit, unit: OrgUnit, category: str, actor: Actor, suffix: str = "") -> User:
    """The (non-login) head account of ``unit``: found when an earlier step made it, else created."""
    username = _username(category, branch, suffix)
    existing = User.objects.filter(username=username).first()
    if existing is not None:
        return existing
    return do_create_user(
        username=username,
        # No password: an unusable one (Django's make_password(None)), so the account cannot log in, and no
        # argon2 hash per account (0.2 s each) slows the load down.
        password=None,
        role=str(Role.UNIT_HEAD),
        scope_unit=unit,
        first_name=f"{branch.name}{unit.name}负责人",
        check_password=False,
        actor=actor,
    )


def _heads(branch: Branch, sales_head: Any, actor: Actor) -> int:
    """Heads of the branch's departments (head@ is the sales head of its branch) and of two sales teams and a
    claims team, so that every survey of the branch has at least the anonymity threshold of raters."""
    made = 0
    for category, unit in branch.depts.items():
        if category == "sales" and sales_head is not None:
            branch.heads[category] = sales_head
            continue
        branch.heads[category] = department_head(branch.unit, unit, category, actor)
        made += 1
    branch.raters = [branch.heads[c] for c in ("sales", "claims", "service") if c in branch.heads]
    for category, n in (("sales", 2), ("claims", 1)):
        if category not in branch.depts:
            continue
        teams = OrgUnit.objects.filter(parent=branch.depts[category], kind="team").order_by("code")[:n]
        for i, team in enumerate(teams, start=1):
            branch.raters.append(department_head(branch.unit, team, category, actor, suffix=f"-t{i}"))
            made += 1
    return made


def _as(user: Any) -> Actor:
    return Actor("user", user.pk, user.username)


# --- time --------------------------------------------------------------------------------------------------------


def _at(day: dt.date, hour: int = 9, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def _backdate_demand(demand: Demand, stamp: str, when: dt.datetime) -> None:
    """Move the stamp of the step just taken (the demand's field and its last logged event) to ``when``."""
    Demand.objects.filter(pk=demand.pk).update(**{stamp: when})
    last = DemandEvent.objects.filter(demand=demand).order_by("-id").first()
    if last is not None:
        DemandEvent.objects.filter(pk=last.pk).update(at=when)


def _back(months: list[dt.date], n: int) -> dt.date:
    """The month ``n`` before the last (the first month, in a demo shorter than that)."""
    return months[max(0, len(months) - 1 - n)]


def _weekdays(first: dt.date, until: dt.date) -> int:
    """Weekdays after ``first`` up to ``until`` (at least 1)."""
    days = (first + dt.timedelta(days=k) for k in range(1, (until - first).days + 1))
    return max(1, sum(1 for d in days if d.weekday() < 5))


def _workday(day: dt.date, after: int = 0) -> dt.date:
    """``after`` weekdays after ``day`` (the day itself when 0 and a weekday)."""
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    for _ in range(after):
        day += dt.timedelta(days=1)
        while day.weekday() >= 5:
            day += dt.timedelta(days=1)
    return day


# --- demands -----------------------------------------------------------------------------------------------------


class Script:
    """One demand's life, each step backdated to the day given."""

    def __init__(self, story: Story, branch: Branch, requester: str, server: str, actor: Actor) -> None:
        self.story, self.branch, self.actor = story, branch, actor
        self.requester = branch.heads[requester]
        self.server = branch.heads[server]
        self.requesting, self.serving = branch.depts[requester], branch.depts[server]
        self.demand: Demand | None = None

    def raise_(
        self, kind: str, title: str, spec: dict[str, Any], day: dt.date, description: str = ""
    ) -> Script:
        self.demand = do_raise_demand(
            kind=kind,
            title=title,
            description=description,
            requesting_unit=self.requesting,
            serving_unit=self.serving,
            spec=spec,
            user=self.requester,
            actor=_as(self.requester),
            at=_at(day, 9, 30),
        )
        self.story.demands += 1
        return self

    def _step(self, stamp: str, day: dt.date, hour: int, done: Demand) -> Script:
        self.demand = done
        _backdate_demand(done, stamp, _at(day, hour))
        return self

    def accept(self, day: dt.date, plan: str) -> Script:
        assert self.demand is not None
        done = do_accept_demand(self.demand, plan=plan, user=self.server, actor=_as(self.server))
        return self._step("accepted_at", day, 10, done)

    def decline(self, day: dt.date, reason: str) -> Script:
        assert self.demand is not None
        done = do_decline_demand(self.demand, reason=reason, user=self.server, actor=_as(self.server))
        return self._step("declined_at", day, 11, done)

    def start(self, day: dt.date, note: str = "") -> Script:
        assert self.demand is not None
        done = do_start_demand(self.demand, note=note, user=self.server, actor=_as(self.server))
        return self._step("started_at", day, 14, done)

    def deliver(self, day: dt.date, note: str = "") -> Script:
        assert self.demand is not None
        done = do_deliver_demand(self.demand, note=note, user=self.server, actor=_as(self.server))
        return self._step("delivered_at", day, 17, done)

    def say(self, day: dt.date, text: str, *, by_server: bool = False, change: bool = False) -> Script:
        assert self.demand is not None
        user = self.server if by_server else self.requester
        if change:
            event = do_request_change(self.demand, text=text, user=user, actor=_as(user))
        else:
            event = do_comment_demand(self.demand, text=text, user=user, actor=_as(user))
        DemandEvent.objects.filter(pk=event.pk).update(at=_at(day, 16 if by_server else 11))
        return self


def _requisitions(branch: Branch, months: list[dt.date], *, agents: bool) -> dict[dt.date, RequisitionRecord]:
    """The branch HR's largest requisition opened in each month (the sales department's agent requisitions when
    ``agents``, else any other department's), only those with candidates."""
    hr, sales = branch.depts.get("hr"), branch.depts.get("sales")
    if hr is None or sales is None:
        return {}
    found = RequisitionRecord.objects.filter(
        recruiting_unit=hr, opened_on__gte=months[0], opened_on__lt=month_add(months[-1], 1)
    )
    in_sales = Q(requesting_unit__path__startswith=sales.path)
    found = found.filter(in_sales if agents else ~in_sales)
    with_hires = set(
        HireRecord.objects.filter(requisition__in=found).values_list("requisition_id", flat=True)
    )
    chosen: dict[dt.date, RequisitionRecord] = {}
    for r in found.order_by("-positions", "opened_on", "requisition_no"):
        month = r.opened_on.replace(day=1)
        if r.pk in with_hires and month not in chosen:
            chosen[month] = r
    return chosen


def _recruitment_spec(r: RequisitionRecord, *, target: str | None = "100000") -> dict[str, Any]:
    spec: dict[str, Any] = {
        "positions": r.positions,
        "arrival_days": max(7, min(60, (r.target_date - r.opened_on).days)),
        "position_title": r.position_title,
        "requisition": r.requisition_no,
    }
    if target:
        spec["per_hire_target"] = target
    return spec


def _arrival_deadline(r: RequisitionRecord) -> dt.date:
    return r.opened_on + dt.timedelta(days=max(7, min(60, (r.target_date - r.opened_on).days)))


PLANS = (
    "内推为主，辅以校园招聘和线上渠道；入职后安排岗前培训与产品知识培训。",
    "联合营业区开展创业说明会，同步启动校招；每周向销售部通报到岗进度。",
    "人才市场专场招聘 + 老带新激励，岗前培训集中在到岗后两周内完成。",
)


def _home_demands(home: Branch, head: Any, months: list[dt.date], story: Story, actor: Actor) -> None:
    """head@'s branch: the sales department's recruitment demands to HR through their whole life (DOMAIN.md
    §2.5), a training demand for the new agents, IT support, one waiting, one declined."""
    last = months[-1]
    as_of = month_add(last, 1)  # the data are as of the day after the last month
    agents = _requisitions(home, months, agents=True)
    ordered = [agents[m] for m in sorted(agents)]
    if "hr" in home.depts and "sales" in home.depts and ordered:
        # Evaluated: the older requisitions (final once every hire's 3-month window has passed, else provisional);
        # the month-end jobs evaluate them later (_month_end_jobs).
        finished = [r for r in ordered if _arrival_deadline(r) < last]
        for i, r in enumerate(finished):
            s = Script(story, home, "sales", "hr", actor)
            s.raise_(
                "recruitment",
                f"招聘{r.positions}名{r.position_title}（{r.opened_on:%-m}月）",
                _recruitment_spec(r),
                r.opened_on,
                description=f"每名新人前3个月首年保费目标10万元；{r.opened_on:%-m}月扩编计划。",
            )
            s.accept(_workday(r.opened_on, 1), PLANS[i % len(PLANS)])
            s.start(_workday(r.opened_on, 2))
            if i == 0:
                s.say(_workday(r.opened_on, 5), "请优先安排有销售经验的候选人。")
                s.say(_workday(r.opened_on, 6), "已收到，内推渠道优先筛选有销售经验者。", by_server=True)
            s.deliver(_arrival_deadline(r), "到岗名单已同步至销售部。")
        # A training demand for the new agents of the requisition two months back, due in the last month and
        # evaluated by performance administration once the courses were done (_month_end_jobs), so the last
        # month's run shows HR's demand points.
        earlier = [r for r in finished if r.opened_on >= _back(months, 2)] if len(months) >= 3 else []
        if earlier:
            r = earlier[0]
            raised = _workday(r.opened_on, 3)
            t = Script(story, home, "sales", "hr", actor)
            t.raise_(
                "training",
                f"{r.opened_on:%-m}月新人岗前及产品知识培训",
                {
                    "audience": f"{r.requisition_no} 招聘到岗的新人",
                    "content": "岗前培训；重疾险与年金产品知识",
                    "courses": ["新人岗前培训", "新人产品知识培训"],
                    "pass_rate_target": "75",
                    "requisition": r.requisition_no,
                    "due_working_days": _weekdays(raised, last + dt.timedelta(days=12)),
                },
                raised,
            )
            t.accept(_workday(raised, 1), "到岗两周内完成岗前培训，第5–7周产品知识培训，结业考试。")
            t.start(_workday(raised, 2))
        # Delivered, waiting for its period's month end: the requisition whose arrival deadline falls in the
        # last month.
        current = [r for r in ordered if _arrival_deadline(r) >= last]
        if current:
            r = current[0]
            s = Script(story, home, "sales", "hr", actor)
            s.raise_(
                "recruitment",
                f"招聘{r.positions}名{r.position_title}（{r.opened_on:%-m}月）",
                _recruitment_spec(r),
                r.opened_on,
                description="每名新人前3个月首年保费目标10万元。",
            )
            s.accept(_workday(r.opened_on, 1), PLANS[1])
            s.start(_workday(r.opened_on, 2))
            s.say(_workday(r.opened_on, 4), "培训加入产品知识", change=True)
            s.say(_workday(r.opened_on, 5), "已调整：岗前培训增加重疾险与年金产品知识课程。", by_server=True)
            if _arrival_deadline(r) < as_of:
                s.deliver(_arrival_deadline(r), "到岗名单已同步。")
        # The latest requisition: in progress, with the change request of DOMAIN.md's example.
        if len(current) > 1:
            r = current[1]
            s = Script(story, home, "sales", "hr", actor)
            s.raise_(
                "recruitment",
                f"开门红储备：招聘{r.positions}名{r.position_title}",
                _recruitment_spec(r),
                r.opened_on,
                description="开门红前储备新人，每名新人前3个月首年保费目标10万元。",
            )
            s.accept(_workday(r.opened_on, 1), PLANS[0])
            s.start(_workday(r.opened_on, 2))
            s.say(_workday(r.opened_on, 3), "培训加入产品知识", change=True)
            s.say(_workday(r.opened_on, 4), "收到，已在岗前培训中加入开门红主推产品。", by_server=True)
        # Submitted and waiting: next year's 开门红 drive, raised at the end of the last month.
        s = Script(story, home, "sales", "hr", actor)
        s.raise_(
            "recruitment",
            "开门红招聘20名代理人",
            {"positions": 20, "arrival_days": 30, "per_hire_target": "100000", "position_title": "营销员"},
            _workday(as_of - dt.timedelta(days=4)),
            description="开门红冲刺：招聘20名代理人，每名新人前3个月首年保费目标10万元。",
        )
        # Declined with a reason.
        s = Script(story, home, "sales", "hr", actor)
        s.raise_(
            "other",
            "组织营销团队户外拓展",
            {"target": "11月组织全体营销员户外拓展一次"},
            _back(months, 1) + dt.timedelta(days=9),
        )
        s.decline(
            _workday(_back(months, 1) + dt.timedelta(days=9), 1),
            "团建不属于人力资源部职责范围，请由销售部按团队经费自行组织。",
        )
    if "it" in home.depts and "sales" in home.depts:
        system = _busiest_system(_back(months, 2), _back(months, 1)) or SALES_SYSTEMS[0]
        if system:
            start = _workday(_back(months, 2) + dt.timedelta(days=2))
            s = Script(story, home, "sales", "it", actor)
            s.raise_(
                "it_support",
                f"{system}稳定性保障",
                {
                    "system": system,
                    "availability_target": "99.5",
                    "fix_hours_target": "4",
                    "due_working_days": 15,
                },
                start,
                description="旺季前保障展业与出单，故障4小时内恢复。",
            )
            s.accept(_workday(start, 1), "增加巡检频次，重大故障 30 分钟内响应。")
            s.start(_workday(start, 1))
            s.deliver(_workday(start, 15), "保障期结束，附可用率报告。")
        system = _busiest_system(months[-1], as_of) or SALES_SYSTEMS[0]
        if system:
            start = _workday(months[-1] + dt.timedelta(days=6))
            s = Script(story, home, "sales", "it", actor)
            s.raise_(
                "it_support",
                f"{system}月末高峰保障",
                {"system": system, "availability_target": "99.9", "due_working_days": 20},
                start,
            )
            s.accept(_workday(start, 2), "月末三天安排值守，扩容应用服务器。")


def _busiest_system(first: dt.date, until: dt.date) -> str:
    """The sales system with the most incidents in [first, until) (so an IT demand on it shows real figures)."""
    row = (
        IncidentRecord.objects.filter(
            system__in=SALES_SYSTEMS, started_at__gte=_at(first, 0), started_at__lt=_at(until, 0)
        )
        .values("system")
        .annotate(n=Count("id"))
        .order_by("-n", "system")
        .first()
    )
    return str(row["system"]) if row else ""


def _branch_demands(branch: Branch, months: list[dt.date], story: Story, actor: Actor) -> None:
    """Another branch: a recruitment demand of its sales department evaluated at a month end, and the claims
    department's payment-acceleration demand to finance for its 汛期 catastrophe, if it had one."""
    agents = _requisitions(branch, months, agents=True)
    finished = [agents[m] for m in sorted(agents) if _arrival_deadline(agents[m]) < months[-1]]
    if finished and "sales" in branch.depts and "hr" in branch.depts:
        r = finished[len(finished) // 2]
        s = Script(story, branch, "sales", "hr", actor)
        s.raise_(
            "recruitment",
            f"招聘{r.positions}名{r.position_title}（{r.opened_on:%-m}月）",
            _recruitment_spec(r),
            r.opened_on,
        )
        s.accept(_workday(r.opened_on, 2), PLANS[2])
        s.start(_workday(r.opened_on, 3))
        s.deliver(_arrival_deadline(r))
    if "claims" not in branch.depts or "finance" not in branch.depts:
        return
    claims = ClaimRecord.objects.filter(
        unit__path__startswith=branch.depts["claims"].path, reported_at__gte=_at(months[0], 0)
    ).exclude(catastrophe_tag="")
    first = claims.order_by("reported_at", "id").first()
    if first is None:
        return
    tag = first.catastrophe_tag
    day = timezone.localdate(first.reported_at) + dt.timedelta(days=2)
    if day >= months[-1]:
        return
    s = Script(story, branch, "claims", "finance", actor)
    s.raise_(
        "payment",
        f"{tag}赔款加速支付",
        {"catastrophe_tag": tag, "target_payment_days": "2", "due_working_days": 15},
        day,
        description="汛期集中报案，请财务部开通绿色通道，核赔通过后2天内支付。",
    )
    s.accept(_workday(day, 1), "开通汛期理赔绿色通道，每日两批次支付。")
    s.start(_workday(day, 1))
    s.say(_workday(day, 4), "目前积压的大额赔款较多，请优先处理10万元以上案件。")
    s.say(_workday(day, 5), "已安排专人复核大额赔款。", by_server=True)
    s.deliver(_workday(day, 15), "汛期赔案已基本支付完毕。")


def _month_end_jobs(months: list[dt.date], actor: Actor) -> None:
    """The month-end evaluation job as it ran at the start of each month after the first (not yet for the last
    month, whose run is still a draft), then performance administration evaluating the last month's training demand
    once its courses were done. Each evaluation is dated when it was made."""
    for month in months[1:]:
        if month > timezone.localdate():
            return
        for done in do_evaluate_due_demands(as_of=month, actor=actor):
            if done.event is not None:
                _backdate_demand(done.demand, "evaluated_at", _at(month, 2))
    as_of = min(month_add(months[-1], 1), timezone.localdate())
    admin = User.objects.filter(role=Role.PERFORMANCE_ADMIN).order_by("pk").first()
    for demand in Demand.objects.filter(kind="training", status="in_progress").order_by("number"):
        if demand.delivery_due_on is None or demand.delivery_due_on >= as_of:
            continue
        server = demand_server(demand)
        delivered = do_deliver_demand(demand, note="两门课程均已结业。", user=server, actor=_as(server))
        _backdate_demand(delivered, "delivered_at", _at(demand.delivery_due_on, 17))
        day = min(as_of - dt.timedelta(days=1), demand.delivery_due_on + dt.timedelta(days=5))
        # Evaluated by performance administration (user), recorded by the load's actor: the batch of the
        # evaluation record then names no tenant's user, like the month-end job's.
        done = do_evaluate_demand(delivered, as_of=day, user=admin, actor=actor)
        _backdate_demand(done.demand, "evaluated_at", _at(day, 15))


def demand_server(demand: Demand) -> Any:
    return User.objects.filter(role=Role.UNIT_HEAD, scope_unit=demand.serving_unit).order_by("pk").first()


# --- surveys -----------------------------------------------------------------------------------------------------


def _surveys(
    branches: list[Branch],
    head: Any,
    months: list[dt.date],
    rng: np.random.Generator,
    story: Story,
    actor: Actor,
) -> None:
    """A monthly support survey per branch: the business departments' heads rate HR, finance and IT. Every
    month but the last is closed (its answers became records); the last month's is open with part of the answers
    in and a reminder sent, and in the last branch only two answers, below the anonymity threshold."""
    today = timezone.localdate()
    for b, branch in enumerate(branches):
        rated = [branch.depts[c] for c in ("hr", "finance", "it") if c in branch.depts]
        rating = [branch.depts[c] for c in ("sales", "claims", "service") if c in branch.depts]
        if not rated or not rating:
            continue
        previous: Survey | None = None
        for m, month in enumerate(months):
            opens_on = month_add(month, 1)
            last = m == len(months) - 1
            closes_on = opens_on + dt.timedelta(days=7)
            if last:  # open still: its closing day lies ahead, whenever the demo is loaded
                closes_on = max(closes_on + dt.timedelta(days=7), today + dt.timedelta(days=7))
            survey = do_schedule_survey(
                title=f"{branch.unit.name}{month.month}月职能支持满意度调研",
                period=f"{month:%Y-%m}",
                rated_units=rated,
                rating_units=rating,
                opens_on=opens_on,
                closes_on=closes_on,
                questions=SURVEY_QUESTIONS,
                scale=SURVEY_SCALE,
                respondent_roles=["unit_head"],
                recurrence="monthly",
                previous=previous,
                actor=actor,
            )
            story.surveys += 1
            if survey.status != "open":  # a demo whose last month has not ended yet: nothing to answer
                previous = survey
                continue
            opened = _at(opens_on, 8)
            Survey.objects.filter(pk=survey.pk).update(opened_at=opened)
            SurveyInvitation.objects.filter(survey=survey).update(invited_at=opened)
            raters = [u for u in branch.raters if u.is_active]
            if last:
                # Part of the answers: head@ has not answered yet (the survey waits in their inbox).
                keep = 2 if b == len(branches) - 1 else min(len(raters), 3 + b % 2)
                answering = [u for u in raters if u.pk != head.pk][:keep]
            else:
                answering = list(raters[:3]) + [u for u in raters[3:] if rng.random() < 0.7]
            for u in answering:
                day = opens_on + dt.timedelta(days=int(rng.integers(0, 6)))
                story.answers += _answer(survey, u, rated, m, rng, _at(day, int(rng.integers(9, 19))), actor)
            if last:
                do_remind_survey(survey, actor=actor)
                SurveyInvitation.objects.filter(survey=survey, reminders__gt=0).update(
                    last_reminded_at=_at(opens_on + dt.timedelta(days=3), 9)
                )
            # Last month's survey closes once this one is scheduled as its follower (closing a monthly survey
            # with no follower would schedule one itself).
            if previous is not None:
                _close(previous, actor, _at(previous.closes_on + dt.timedelta(days=1), 0, 30))
            previous = survey


def _answer(
    survey: Survey,
    user: Any,
    rated: list[OrgUnit],
    month_index: int,
    rng: np.random.Generator,
    when: dt.datetime,
    actor: Actor,
) -> int:
    cards = []
    for unit in rated:
        sat, neutral = BASE_MOOD.get(unit.category, (0.45, 0.4))
        sat = min(0.85, sat + MONTHLY_GAIN * month_index)
        p = np.array([sat, neutral, max(0.0, 1 - sat - neutral)])
        picks = rng.choice(3, len(SURVEY_QUESTIONS), p=p / p.sum())
        ratings = {f"q{i}": OPTIONS[int(k)] for i, k in enumerate(picks, start=1)}
        comment = ""
        if rng.random() < 0.25:
            pool = COMMENTS[unit.category][OPTIONS[int(picks[0])]]
            comment = pool[int(rng.integers(0, len(pool)))]
        cards.append(UnitAnswer(unit.pk, ratings, comment))
    do_answer_survey(survey, user=user, answers=cards, actor=_as(user))
    invitation = SurveyInvitation.objects.get(survey=survey, user=user)
    SurveyInvitation.objects.filter(pk=invitation.pk).update(answered_at=when)
    SurveyResponse.objects.filter(survey=survey, response_key=invitation.response_key).update(
        answered_at=when
    )
    return 1


def _close(survey: Survey, actor: Actor, when: dt.datetime) -> None:
    """Close a past month's survey (the answers become records), dated as the daily job would have."""
    do_close_survey(survey, actor=actor)
    Survey.objects.filter(pk=survey.pk).update(closed_at=when)

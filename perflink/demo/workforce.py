"""The demo insurer's org tree and people: units, heads, staff and agents, their hires, transfers and exits,
and the recruiting (requisitions and candidates) that brings new people in.

Pure numpy, no Django: the plan is turned into rows by `perflink.demo.load`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

from perflink.demo import effects
from perflink.demo.calendar import NA, Calendar, day_number
from perflink.demo.people import bank_accounts, chinese_names, id_numbers, mobiles
from perflink.demo.reference import (
    AGENT_CHANNEL_WEIGHTS,
    AGENT_CHANNELS,
    AGENTS_PER_TEAM,
    BRANCH_UNITS,
    BRANCHES,
    HEAD_POSITION_BY_KIND,
    HQ_AREA_CODES,
    HQ_STAFF_SHARE,
    HQ_UNITS,
    POSITIONS,
    SALES_TEAM,
    STAFF_CHANNEL_WEIGHTS,
    STAFF_CHANNELS,
    Branch,
    UnitTemplate,
    cn_number,
)

AGENT_SHARE = 0.5
# Monthly exit hazards of people past their first 90 days; unit heads do not leave.
AGENT_EXIT_HAZARD = 0.022
STAFF_EXIT_HAZARD = 0.008
AGENT_HIRE_RATE = 0.042  # agents recruited per month, as a share of a branch's agents (x season)
TRANSFER_SHARE = {"agent": 0.04, "staff": 0.05}
POSITION_FILL_RATE = {"agent": 0.92, "staff": 0.95}
HQ_HR_DAYS = 30.0
STAFF_TTF_FACTOR = 1.5  # staff positions take longer to fill than agent positions
MONTH_DAYS = 30.44

Frame = dict[str, np.ndarray]


def apportion(total: int, weights: list[float] | np.ndarray, minimum: int = 0) -> np.ndarray:
    """Split `total` into integers proportional to `weights` (largest remainder), each at least `minimum`."""
    w = np.asarray(weights, dtype=float)
    base = np.full(len(w), minimum, dtype=np.int64)
    rest = total - int(base.sum())
    if rest < 0:
        raise ValueError(f"cannot give {len(w)} parts at least {minimum} out of {total}")
    quota = rest * w / w.sum()
    out = np.floor(quota).astype(np.int64)
    order = np.argsort(-(quota - out), kind="stable")
    out[order[: rest - int(out.sum())]] += 1
    return base + out


def ar1_factors(rng: np.random.Generator, n: int, months: int, sd: float, rho: float = 0.6) -> np.ndarray:
    """(n, months) multiplicative month-to-month variation: exp of a stationary AR(1) with the given sd."""
    x = np.empty((n, months))
    x[:, 0] = rng.normal(0, sd, n)
    innovation = sd * np.sqrt(1 - rho**2)
    for m in range(1, months):
        x[:, m] = rho * x[:, m - 1] + rng.normal(0, innovation, n)
    return np.exp(x)


@dataclass(frozen=True)
class UnitPlan:
    code: str
    name: str
    name_en: str
    kind: str
    unit_type: str
    category: str
    parent: int  # index into Org.units, -1 for the group
    opened_on: date
    branch: int  # index into Org.branches, -1 for headquarters
    key: str  # template key: office, sales, sales_team, claims_auto, hr, ...
    member_position: str  # position code of the unit's (non-head) staff


@dataclass
class Org:
    units: list[UnitPlan]
    branches: tuple[Branch, ...]
    staff: np.ndarray  # initial staff per unit (head included)
    agents: np.ndarray  # initial agents per unit (head included, sales teams only)

    def __post_init__(self) -> None:
        self.key = np.array([u.key for u in self.units])
        self.branch = np.array([u.branch for u in self.units], dtype=np.int64)
        self.parent = np.array([u.parent for u in self.units], dtype=np.int64)
        self.category = np.array([u.category for u in self.units])
        self.opened_day = np.array([day_number(u.opened_on) for u in self.units], dtype=np.int64)
        self.position_codes = [p[0] for p in POSITIONS]

    def position_index(self, code: str) -> int:
        return self.position_codes.index(code)

    def units_of(self, key: str, branch: int | None = None) -> np.ndarray:
        sel = self.key == key
        if branch is not None:
            sel &= self.branch == branch
        return np.flatnonzero(sel)

    def branch_unit(self, key: str, branch: int) -> int:
        """The branch's unit of a template key (headquarters' when `branch` is -1)."""
        return int(self.units_of(key, branch)[0])

    @property
    def sales_teams(self) -> np.ndarray:
        return self.units_of("sales_team")

    @property
    def claims_teams(self) -> np.ndarray:
        return np.flatnonzero(np.isin(self.key, ["claims_auto", "claims_prop"]))


def plan_org(employees: int, company: str, company_en: str, cal: Calendar, rng: np.random.Generator) -> Org:
    """Lay out the group, its headquarters departments and the branches with their departments and teams,
    and how many staff and agents start in each unit."""
    n_branches = int(np.clip(employees // 600, 3, len(BRANCHES)))
    branches = BRANCHES[:n_branches]
    n_agents = round(employees * AGENT_SHARE)
    n_staff = employees - n_agents
    branch_weights = [b.size for b in branches]
    agents_b = apportion(n_agents, branch_weights, minimum=1)
    hq_staff = max(round(n_staff * HQ_STAFF_SHARE), len(HQ_UNITS))  # every HQ unit has a head
    staff_b = apportion(n_staff - hq_staff, branch_weights)
    units: list[UnitPlan] = []
    staff: list[int] = []
    agents: list[int] = []
    last_opening = date.fromordinal(cal.first_month.toordinal() - 180)

    def add(plan: UnitPlan, n_staff: int = 0, n_agents: int = 0) -> int:
        units.append(plan)
        staff.append(n_staff)
        agents.append(n_agents)
        return len(units) - 1

    def plan(t: UnitTemplate, code: str, parent: int, opened: date, branch: int, **names: str) -> UnitPlan:
        name, name_en = names.get("name", t.name), names.get("name_en", t.name_en)
        return UnitPlan(
            code, name, name_en, t.kind, t.unit_type, t.category, parent, opened, branch, t.key, t.position
        )

    def team_opened(opened: date) -> date:
        return min(date.fromordinal(opened.toordinal() + int(rng.integers(0, 3000))), last_opening)

    founded = date(2008, 1, 1)
    hq_counts = apportion(hq_staff, [t.staff_weight for t in HQ_UNITS], minimum=1)
    group = -1
    for t, count in zip(HQ_UNITS, hq_counts, strict=True):
        if t.key == "office":  # the group itself: its leadership and office staff
            group = add(plan(t, "HQ", -1, founded, -1, name=company, name_en=company_en), int(count))
        else:
            add(plan(t, f"HQ-{t.key.upper()}", group, founded, -1), int(count))

    for bi, b in enumerate(branches):
        opened = date.fromisoformat(b.opened)
        counts = apportion(int(staff_b[bi]), [t.staff_weight for t in BRANCH_UNITS], minimum=1)
        departments: dict[str, int] = {}
        for t, count in zip(BRANCH_UNITS, counts, strict=True):
            if t.key == "office":  # the branch itself: its leadership and office staff
                departments[t.key] = add(
                    plan(t, b.code, group, opened, bi, name=b.name, name_en=b.name_en), int(count)
                )
            elif t.team_size:  # claims teams under the branch's claims department
                n_teams = max(1, round(int(count) / t.team_size))
                for j, team_staff in enumerate(apportion(int(count), np.ones(n_teams), minimum=1)):
                    code = f"{b.code}-{t.key.upper().replace('_', '-')}{j + 1}"
                    names = {"name": t.name.format(n=cn_number(j + 1)), "name_en": t.name_en.format(n=j + 1)}
                    add(
                        plan(t, code, departments["claims"], team_opened(opened), bi, **names),
                        int(team_staff),
                    )
            else:
                departments[t.key] = add(
                    plan(t, f"{b.code}-{t.key.upper()}", departments["office"], opened, bi), int(count)
                )
        # Life sales teams of agents (营销组) under the branch's sales department.
        n_teams = max(1, round(int(agents_b[bi]) / AGENTS_PER_TEAM))
        for j, team_agents in enumerate(apportion(int(agents_b[bi]), np.ones(n_teams), minimum=1)):
            code = f"{b.code}-SALES-T{j + 1:02d}"
            names = {
                "name": SALES_TEAM.name.format(n=cn_number(j + 1)),
                "name_en": SALES_TEAM.name_en.format(n=j + 1),
            }
            add(
                plan(SALES_TEAM, code, departments["sales"], team_opened(opened), bi, **names),
                0,
                int(team_agents),
            )
    return Org(units, branches, np.array(staff, dtype=np.int64), np.array(agents, dtype=np.int64))


@dataclass
class Workforce:
    """Everyone who works for the insurer at some time in the period, one entry per person."""

    is_agent: np.ndarray
    unit0: np.ndarray  # first unit in the period (the hiring unit for people hired in it)
    unit1: np.ndarray  # unit after a transfer, or NA
    transfer_day: np.ndarray  # first day in unit1 (always the first of a month), or NA
    position: np.ndarray
    is_head: np.ndarray
    hire_day: np.ndarray
    exit_day: np.ndarray  # last working day, or NA
    birth_day: np.ndarray
    gender: np.ndarray
    origin: np.ndarray  # 0 on the books at the start, 1 agent hired in the period, 2 staff hired in it
    # Effect-2 ground truth for agents hired through a requisition (NaN / False for everyone else):
    time_to_fill: np.ndarray
    attains: np.ndarray
    retained: np.ndarray
    columns: dict[str, list] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.is_agent)

    @property
    def current_unit(self) -> np.ndarray:
        return np.where(self.transfer_day != NA, self.unit1, self.unit0)

    def unit_by_month(self, cal: Calendar, who: np.ndarray) -> np.ndarray:
        """(len(who), months) unit of each person in each month (transfers happen on the 1st)."""
        starts = cal.month_start[:-1]
        moved = (self.transfer_day[who, None] != NA) & (starts[None, :] >= self.transfer_day[who, None])
        return np.where(moved, self.unit1[who, None], self.unit0[who, None])

    def active_days(
        self, cal: Calendar, who: np.ndarray, start: np.ndarray | None = None, end: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(lo, days): per person and month, the first active day and how many days they were active,
        optionally limited to [start, end)."""
        lo_person = self.hire_day[who] if start is None else start
        hi_person = np.where(self.exit_day[who] == NA, cal.end_day, self.exit_day[who] + 1)
        if end is not None:
            hi_person = np.minimum(hi_person, end)
        lo = np.maximum(lo_person[:, None], cal.month_start[None, :-1])
        hi = np.minimum(hi_person[:, None], cal.month_start[None, 1:])
        return lo, np.maximum(hi - lo, 0)


def _initial_people(org: Org, cal: Calendar, rng: np.random.Generator) -> dict[str, np.ndarray]:
    counts = org.staff + org.agents
    n = int(counts.sum())
    unit = np.repeat(np.arange(len(org.units)), counts)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(n) - first[unit]
    is_head = rank == 0
    is_agent = rank >= org.staff[unit]
    head_codes = np.array(
        ["AGT-LEAD" if u.key == "sales_team" else HEAD_POSITION_BY_KIND[u.kind] for u in org.units]
    )
    member_codes = np.array([u.member_position for u in org.units])
    codes = np.where(is_head, head_codes[unit], np.where(is_agent, "AGT", member_codes[unit]))
    position = np.array([org.position_index(c) for c in codes], dtype=np.int64)

    start = cal.start_day
    age_years = np.where(
        is_head, rng.normal(46, 6, n), np.where(is_agent, rng.normal(36, 8, n), rng.normal(38, 8, n))
    )
    age_years = np.clip(age_years, 23, 58)
    birth_day = (start - age_years * 365.25).astype(np.int64)
    tenure_mean = np.where(is_head, 2500.0, np.where(is_agent, 900.0, 2000.0))
    tenure = 100 + rng.exponential(tenure_mean) + np.where(is_head, 1400, 0)
    tenure = np.minimum(tenure, (age_years - 21) * 365.25)
    hire_day = np.maximum((start - tenure).astype(np.int64), org.opened_day[unit])
    hire_day = np.minimum(hire_day, start - 100)

    # Exits: a monthly hazard; heads stay.
    hazard = np.where(is_agent, AGENT_EXIT_HAZARD, STAFF_EXIT_HAZARD)
    months_to_exit = rng.geometric(hazard)
    leaves = (months_to_exit <= cal.months) & ~is_head
    k = np.minimum(months_to_exit - 1, cal.months - 1)
    exit_day = np.where(
        leaves, cal.month_start[k] + (rng.random(n) * cal.days_in_month[k]).astype(np.int64), NA
    )

    # Transfers to a unit of the same kind (agents between sales teams of their branch), on a 1st of a month.
    unit1 = np.full(n, NA, dtype=np.int64)
    transfer_day = np.full(n, NA, dtype=np.int64)
    share = np.where(is_agent, TRANSFER_SHARE["agent"], TRANSFER_SHARE["staff"])
    month = rng.integers(1, max(cal.months, 2), n)
    movers = (rng.random(n) < share) & ~is_head & (cal.months > 1) & (org.key[unit] != "office")
    movers &= ~leaves | (cal.month_start[np.minimum(month, cal.months)] < exit_day)
    pick = rng.random(n)
    for i in np.flatnonzero(movers):
        u = unit[i]
        targets = org.units_of(org.key[u], int(org.branch[u]) if is_agent[i] else None)
        targets = targets[targets != u]
        if len(targets):
            unit1[i] = targets[int(pick[i] * len(targets))]
            transfer_day[i] = cal.month_start[month[i]]
    gender = np.where(rng.random(n) < np.where(is_head, 0.3, np.where(is_agent, 0.62, 0.5)), "F", "M")
    return {
        "is_agent": is_agent,
        "unit0": unit,
        "unit1": unit1,
        "transfer_day": transfer_day,
        "position": position,
        "is_head": is_head,
        "hire_day": hire_day,
        "exit_day": exit_day,
        "birth_day": birth_day,
        "gender": gender,
        "origin": np.zeros(n, dtype=np.int64),
        "time_to_fill": np.full(n, np.nan),
        "attains": np.zeros(n, bool),
        "retained": np.zeros(n, bool),
    }


def hr_speed(org: Org, cal: Calendar, rng: np.random.Generator) -> np.ndarray:
    """(branches + 1, months) median days to fill an agent position; the last row is headquarters."""
    base = np.array([b.hr_days for b in org.branches] + [HQ_HR_DAYS])
    busy = np.isin(cal.cal_month, [11, 12, 1]) * 0.12 + 1.0  # recruiting for 开门红 stretches HR
    return base[:, None] * ar1_factors(rng, len(base), cal.months, 0.15) * busy[None, :]


@dataclass
class Recruiting:
    requisitions: Frame
    hires: Frame


def _requisition_plan(
    org: Org, cal: Calendar, people: dict[str, np.ndarray], rng: np.random.Generator
) -> Frame:
    """Requisitions in opening order: agents every month per branch (more before 开门红), a replacement for
    every staff member who leaves, and claims adjusters every April before the 汛期."""
    nb = len(org.branches)
    columns = ("requesting", "recruiting", "title", "positions", "opened", "kind", "branch", "new_unit")
    rows: list[tuple] = []

    # Agent recruiting drives, one requisition per branch and month.
    for b in range(nb):
        sales, hr = org.branch_unit("sales", b), org.branch_unit("hr", b)
        agents_b = int(org.agents[org.units_of("sales_team", b)].sum())
        for m in range(cal.months):
            season = effects.AGENT_RECRUITING_SEASON[cal.cal_month[m] - 1]
            positions = max(1, round(agents_b * AGENT_HIRE_RATE * season * rng.lognormal(0, 0.15)))
            opened = int(cal.month_start[m] + rng.integers(0, 10))
            rows.append((sales, hr, "营销员", positions, opened, "agent", b, NA))

    # Replacements for staff who leave (not agents: the monthly drives cover those).
    leavers = np.flatnonzero((people["exit_day"] != NA) & ~people["is_agent"])
    for i in leavers:
        unit = int(np.where(people["transfer_day"][i] != NA, people["unit1"][i], people["unit0"][i]))
        b = int(org.branch[unit])
        opened = max(cal.start_day, int(people["exit_day"][i]) - int(rng.integers(0, 21)))
        title = POSITIONS[int(people["position"][i])][1]
        rows.append((unit, org.branch_unit("hr", b), title, 1, opened, "staff", b, unit))

    # Claims adjusters hired every April ahead of the flood season.
    for april in np.flatnonzero(cal.cal_month == 4).tolist():
        for b in range(nb):
            claims, hr = org.branch_unit("claims", b), org.branch_unit("hr", b)
            teams = org.claims_teams[org.branch[org.claims_teams] == b]
            positions = max(1, round(int(org.staff[teams].sum()) * 0.08))
            opened = int(cal.month_start[april] + rng.integers(0, 10))
            rows.append((claims, hr, "理赔专员", positions, opened, "claims", b, NA))

    requisitions = {k: np.array(v) for k, v in zip(columns, zip(*rows, strict=True), strict=True)}
    order = np.argsort(requisitions["opened"], kind="stable")
    return {k: v[order] for k, v in requisitions.items()}


def recruit(
    org: Org, cal: Calendar, people: dict[str, np.ndarray], rng: np.random.Generator
) -> tuple[dict[str, np.ndarray], Recruiting, np.ndarray]:
    """Fill the planned requisitions position by position at each branch HR's pace. Returns the people who
    arrive, the requisition and candidate frames, and the median time-to-fill matrix."""
    speed = hr_speed(org, cal, rng)
    nb = len(org.branches)
    requisitions = _requisition_plan(org, cal, people, rng)
    n_req = len(requisitions["opened"])

    # One entry per position.
    pos_req = np.repeat(np.arange(n_req), requisitions["positions"])
    n_pos = len(pos_req)
    kind = requisitions["kind"][pos_req]
    is_agent = kind == "agent"
    branch = requisitions["branch"][pos_req]
    opened = requisitions["opened"][pos_req]
    month = np.clip(cal.month_of_day(opened), 0, cal.months - 1)
    median = speed[np.where(branch == NA, nb, branch), month] * np.where(is_agent, 1.0, STAFF_TTF_FACTOR)
    ttf = np.clip(np.round(median * rng.lognormal(0, 0.3, n_pos)), 5, 150).astype(np.int64)
    filled = rng.random(n_pos) < np.where(is_agent, POSITION_FILL_RATE["agent"], POSITION_FILL_RATE["staff"])
    arrival = opened + ttf
    arrived = filled & (arrival < cal.end_day)

    # The people who arrive.
    new = np.flatnonzero(arrived)
    k = len(new)
    new_agent = is_agent[new]
    new_branch = branch[new]
    unit = requisitions["new_unit"][pos_req[new]].astype(np.int64)
    pick = rng.random(k)
    for j in range(k):
        if unit[j] != NA:
            continue
        key_units = org.sales_teams if new_agent[j] else org.claims_teams
        choices = key_units[org.branch[key_units] == new_branch[j]]
        unit[j] = choices[int(pick[j] * len(choices))]
    member_codes = np.array([u.member_position for u in org.units])
    position = np.array(
        [org.position_index(c) for c in np.where(new_agent, "AGT", member_codes[unit])], dtype=np.int64
    )
    hire_day = arrival[new]

    # Effect 2: time-to-fill sets each new agent's chances of the 3-month target and of staying 90 days.
    # A shared uniform for half of them ties the two outcomes together without changing either rate.
    spec = effects.PLANTED_EFFECTS["time_to_fill_new_agents"]
    u1 = rng.random(k)
    u2 = np.where(rng.random(k) < 0.5, u1, rng.random(k))
    attains = new_agent & (u1 < effects.attainment_probability(ttf[new]))
    retained = new_agent & (u2 < effects.retention_probability(ttf[new]))
    window = spec["window_days"]
    early_exit = hire_day + rng.integers(14, window - 4, k)  # leave before day 86
    later = rng.exponential(MONTH_DAYS / np.where(new_agent, AGENT_EXIT_HAZARD, STAFF_EXIT_HAZARD), k)
    later_exit = hire_day + np.where(new_agent, window + 2, 0) + later.astype(np.int64)
    exit_day = np.where(new_agent & ~retained, early_exit, later_exit)
    exit_day = np.where(exit_day < cal.end_day, exit_day, NA)

    age = np.clip(np.where(new_agent, rng.normal(30, 7, k), rng.normal(29, 6, k)), 21, 55)
    new_people = {
        "is_agent": new_agent,
        "unit0": unit,
        "unit1": np.full(k, NA, dtype=np.int64),
        "transfer_day": np.full(k, NA, dtype=np.int64),
        "position": position,
        "is_head": np.zeros(k, bool),
        "hire_day": hire_day,
        "exit_day": exit_day,
        "birth_day": (hire_day - age * 365.25).astype(np.int64),
        "gender": np.where(rng.random(k) < np.where(new_agent, 0.62, 0.5), "F", "M"),
        "origin": np.where(new_agent, 1, 2),
        "time_to_fill": np.where(new_agent, ttf[new], np.nan),
        "attains": attains,
        "retained": retained,
    }

    # Requisition closing: filled when the last position arrives, or closed short 90 days after opening.
    last_arrival = np.full(n_req, -1, dtype=np.int64)
    np.maximum.at(last_arrival, pos_req[arrived], arrival[arrived])
    pending = np.zeros(n_req, bool)
    pending[pos_req[filled & ~arrived]] = True
    unfilled = np.zeros(n_req, bool)
    unfilled[pos_req[~filled]] = True
    short_close = requisitions["opened"] + 90
    closed = np.where(
        pending,
        NA,
        np.where(
            unfilled,
            np.where(short_close < cal.end_day, np.maximum(short_close, last_arrival), NA),
            last_arrival,
        ),
    )
    requisitions["closed"] = closed
    requisitions["target"] = requisitions["opened"] + np.where(requisitions["kind"] == "agent", 30, 45)

    hires = _candidates(
        rng, cal, pos_req, opened, ttf, filled, arrival, arrived, is_agent, len(people["is_agent"])
    )
    return new_people, Recruiting(requisitions, hires), speed


def _candidates(
    rng: np.random.Generator,
    cal: Calendar,
    pos_req: np.ndarray,
    opened: np.ndarray,
    ttf: np.ndarray,
    filled: np.ndarray,
    arrival: np.ndarray,
    arrived: np.ndarray,
    is_agent: np.ndarray,
    first_new_employee: int,
) -> Frame:
    """Candidate rows: the one who arrived (or holds an offer) per filled position, plus candidates who
    declined an offer and candidates who were turned down."""
    n_pos = len(pos_req)
    employee = np.full(n_pos, NA, dtype=np.int64)
    employee[arrived] = first_new_employee + np.arange(int(arrived.sum()))
    offer_lead = rng.integers(3, 13, n_pos)
    offer = np.maximum(arrival - offer_lead, opened + 1)
    main = filled & (offer < cal.end_day)
    declined_n = rng.poisson(0.3, n_pos) + (~filled)  # an unfilled position saw at least one refusal
    rejected_n = rng.poisson(1.0, n_pos)
    parts = []
    parts.append(
        {
            "position": np.flatnonzero(main),
            "offer": offer[main],
            "arrival": np.where(arrived[main], arrival[main], NA),
            "employee": employee[main],
        }
    )
    di = np.repeat(np.arange(n_pos), declined_n)
    d_offer = opened[di] + 3 + (rng.random(len(di)) * np.maximum(ttf[di] - 3, 1)).astype(np.int64)
    parts.append(
        {
            "position": di,
            "offer": np.where(d_offer < cal.end_day, d_offer, NA),
            "arrival": np.full(len(di), NA),
            "employee": np.full(len(di), NA),
        }
    )
    ri = np.repeat(np.arange(n_pos), rejected_n)
    parts.append(
        {
            "position": ri,
            "offer": np.full(len(ri), NA),
            "arrival": np.full(len(ri), NA),
            "employee": np.full(len(ri), NA),
        }
    )
    frame = {k: np.concatenate([p[k] for p in parts]).astype(np.int64) for k in parts[0]}
    # Candidates are listed by requisition, the hired one first.
    order = np.lexsort((np.arange(len(frame["position"])), pos_req[frame["position"]]))
    frame = {k: v[order] for k, v in frame.items()}
    n = len(frame["position"])
    agent = is_agent[frame["position"]]
    channel = np.where(
        agent,
        np.array(AGENT_CHANNELS)[rng.choice(len(AGENT_CHANNELS), n, p=AGENT_CHANNEL_WEIGHTS)],
        np.array(STAFF_CHANNELS)[rng.choice(len(STAFF_CHANNELS), n, p=STAFF_CHANNEL_WEIGHTS)],
    )
    frame["requisition"] = pos_req[frame.pop("position")]
    frame["channel"] = channel
    frame["candidate_gender"] = np.where(rng.random(n) < 0.55, "F", "M")
    return frame


def build_workforce(
    org: Org, cal: Calendar, rng: np.random.Generator, rng_people: np.random.Generator
) -> tuple[Workforce, Recruiting, np.ndarray]:
    initial = _initial_people(org, cal, rng)
    new, recruiting, speed = recruit(org, cal, initial, rng)
    merged = {k: np.concatenate([initial[k], new[k]]) for k in initial}
    wf = Workforce(**merged)
    _personal_columns(wf, org, rng_people)
    # Candidates who arrived carry the new employee's name.
    names = np.array(wf.columns["name"], dtype=object)
    cand_names = np.array(chinese_names(rng_people, recruiting.hires.pop("candidate_gender")), dtype=object)
    hired = recruiting.hires["employee"] != NA
    cand_names[hired] = names[recruiting.hires["employee"][hired]]
    recruiting.hires["candidate_name"] = cand_names
    return wf, recruiting, speed


def _personal_columns(wf: Workforce, org: Org, rng: np.random.Generator) -> None:
    """Employee numbers (in hiring order), names, ID numbers, mobiles, bank accounts, e-mail addresses."""
    n = len(wf)
    order = np.lexsort((np.arange(n), wf.hire_day))
    numbers = np.empty(n, dtype=object)
    agent_order = order[wf.is_agent[order]]
    staff_order = order[~wf.is_agent[order]]
    numbers[agent_order] = [f"A{i + 1:07d}" for i in range(len(agent_order))]
    numbers[staff_order] = [f"E{i + 1:06d}" for i in range(len(staff_order))]
    branch = org.branch[wf.unit0]
    local = rng.random(n) < 0.7  # most people were born in the province they work in
    home = np.where(local & (branch != NA), branch, rng.integers(0, len(org.branches), n))
    pools = [b.area_codes for b in org.branches]
    area = np.array([pools[h][int(x * len(pools[h]))] for h, x in zip(home, rng.random(n), strict=True)])
    hq_local = (branch == NA) & local
    area[hq_local] = np.array(HQ_AREA_CODES)[rng.integers(0, len(HQ_AREA_CODES), int(hq_local.sum()))]
    wf.columns = {
        "employee_no": numbers.tolist(),
        "name": chinese_names(rng, wf.gender),
        "id_number": id_numbers(rng, area, wf.birth_day, wf.gender),
        "mobile": mobiles(rng, n),
        "bank_account": bank_accounts(rng, n),
        "email": [
            ("" if a else f"{no.lower()}@staff.example.com")
            for a, no in zip(wf.is_agent, numbers, strict=True)
        ],
    }


def managers(org: Org, wf: Workforce, units: np.ndarray, who: np.ndarray) -> np.ndarray:
    """The manager of each person in the given unit: the unit's head, or for the head the parent unit's head."""
    head_of = np.full(len(org.units), NA, dtype=np.int64)
    heads = np.flatnonzero(wf.is_head)
    head_of[wf.unit0[heads]] = heads
    parent_head = np.where(org.parent[units] == NA, NA, head_of[np.maximum(org.parent[units], 0)])
    return np.where(wf.is_head[who], parent_head, head_of[units])


def assignments(org: Org, wf: Workforce) -> Frame:
    """Effective-dated assignment rows: one per person, two for people who transferred."""
    n = len(wf)
    everyone = np.arange(n)
    end = np.where(wf.exit_day == NA, NA, wf.exit_day + 1)
    moved = np.flatnonzero(wf.transfer_day != NA)
    first_to = end.copy()
    first_to[moved] = wf.transfer_day[moved]
    employee = np.concatenate([everyone, moved])
    unit = np.concatenate([wf.unit0, wf.unit1[moved]])
    frame = {
        "employee": employee,
        "unit": unit,
        "position": wf.position[employee],
        "manager": managers(org, wf, unit, employee),
        "valid_from": np.concatenate([wf.hire_day, wf.transfer_day[moved]]),
        "valid_to": np.concatenate([first_to, end[moved]]),
    }
    order = np.lexsort((frame["valid_from"], employee))
    return {k: v[order] for k, v in frame.items()}

"""Source records of the demo insurer, one function per record kind, each returning columns (a `Frame`).

This is the seam the ingestion issue can use: every function returns plain numpy columns in which
people, units, requisitions and claims are indices into the world's tables (`perflink.demo.load` turns
them into foreign keys; an ingestion route would turn them into employee numbers and unit codes).
Times are UTC epoch seconds, dates are day numbers, money is integer fen, NA (-1) means "no value".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from perflink.demo import effects
from perflink.demo.calendar import DAY, HOUR, NA, Calendar, local_day, local_seconds
from perflink.demo.reference import AGENT_EXIT_REASONS, IT_SYSTEMS, STAFF_EXIT_REASONS
from perflink.demo.workforce import Frame, Org, Recruiting, Workforce, ar1_factors

CLAIMS_PER_HANDLER_MONTH = 3.5
NEW_AGENT_POLICIES_PER_MONTH = 1.6
ESTABLISHED_POLICY_PREMIUM_YUAN = 13_000  # median first-year premium of a policy (before the season)
BUSINESS_GROWTH_PER_YEAR = 0.04
COMMISSION_RATE = {"life": 0.30, "health": 0.20}
CLAIM_LINES = ("auto", "property", "liability")
CLAIM_MEDIAN_YUAN = {"auto": 6_000, "property": 18_000, "liability": 12_000}
ASSESS_MEDIAN_DAYS = {"auto": 1.2, "property": 3.0, "liability": 6.0}
SEVERITY_MEDIAN_HOURS = {"P1": 3.0, "P2": 1.5, "P3": 0.8, "P4": 0.4}
REIMBURSEMENT_RATE = 0.28  # expense claims per staff member and month


@dataclass
class World:
    """The generated insurer before it is written: calendar, org, people, and the month-by-month
    drivers the records are drawn from (kept for tests and documentation)."""

    cal: Calendar
    org: Org
    wf: Workforce
    recruiting: Recruiting
    # (branches + 1, months) median days to fill an agent position; the last row is headquarters.
    hr_speed: np.ndarray
    # (branches + 1, months) median claim-payment days (approval -> paid) of each finance team.
    finance_speed: np.ndarray = field(default_factory=lambda: np.empty(0))
    # (units, months) outage hours of the life sales teams (effect 3).
    outage_hours: np.ndarray = field(default_factory=lambda: np.empty(0))
    # Values the records were drawn from but do not show (planned payment times, settlements, ...).
    truth: dict[str, Any] = field(default_factory=dict)


def _censor(times: list[np.ndarray], limit: int) -> list[np.ndarray]:
    """Times at or after the snapshot become NA, and so does every later step of the same record."""
    out = []
    gone = np.zeros(len(times[0]), bool)
    for t in times:
        gone = gone | (t == NA) | (t >= limit)
        out.append(np.where(gone, NA, t))
    return out


def _sequence_numbers(prefix: str, cal: Calendar, days: np.ndarray) -> np.ndarray:
    """'<prefix><yyyymm><running number>' in the order given."""
    months = np.clip(cal.month_of_day(days), 0, cal.months - 1)
    yyyymm = np.array(cal.yyyymm())[months]
    return np.array([f"{prefix}{ym}{i + 1:07d}" for i, ym in enumerate(yyyymm)], dtype=object)


# --- HR: requisitions, candidates, training, exits ---------------------------------------------------


def requisition_records(world: World) -> Frame:
    r = world.recruiting.requisitions
    months = np.clip(world.cal.month_of_day(r["opened"]), 0, world.cal.months - 1)
    yyyymm = np.array(world.cal.yyyymm())[months]
    number = np.array([f"RQ{ym}{i + 1:05d}" for i, ym in enumerate(yyyymm)], dtype=object)
    return {
        "external_id": number,
        "requisition_no": number,
        "requesting_unit": r["requesting"],
        "recruiting_unit": r["recruiting"],
        "position_title": r["title"],
        "positions": r["positions"],
        "opened_on": r["opened"],
        "target_date": r["target"],
        "closed_on": r["closed"],
    }


def hire_records(world: World) -> Frame:
    h = world.recruiting.hires
    n = len(h["requisition"])
    return {
        "external_id": np.array([f"H{i + 1:07d}" for i in range(n)], dtype=object),
        "requisition": h["requisition"],
        "candidate_name": h["candidate_name"],
        "channel": h["channel"],
        "offer_on": h["offer"],
        "arrived_on": h["arrival"],
        "employee": h["employee"],
    }


def training_records(world: World, rng: np.random.Generator) -> Frame:
    """Courses: pre-job and product training of new agents, the 开门红 product training every December,
    the yearly compliance course for staff, induction of new staff, flood-season claims practice in May."""
    cal, org, wf = world.cal, world.org, world.wf
    n = len(wf)
    everyone = np.arange(n)
    employed_end = np.where(wf.exit_day == NA, cal.end_day + 10_000, wf.exit_day + 1)
    # (who, day, course, mean score, completion rate)
    parts: list[tuple[np.ndarray, np.ndarray, str, float, float]] = []

    new_agents = everyone[wf.origin == 1]
    parts.append(
        (new_agents, wf.hire_day[new_agents] + rng.integers(5, 16, len(new_agents)), "新人岗前培训", 76, 0.97)
    )
    day = wf.hire_day[new_agents] + rng.integers(30, 51, len(new_agents))
    parts.append((new_agents, day, "新人产品知识培训", 81, 0.93))
    new_staff = everyone[wf.origin == 2]
    parts.append(
        (new_staff, wf.hire_day[new_staff] + rng.integers(3, 11, len(new_staff)), "新员工入职培训", 85, 0.98)
    )
    for m in range(cal.months):
        first = cal.month_start[m]
        if cal.cal_month[m] == 12:
            agents = everyone[wf.is_agent & (wf.hire_day <= first) & (employed_end > first + 20)]
            parts.append((agents, first + rng.integers(0, 20, len(agents)), "开门红产品培训", 84, 0.92))
        if cal.cal_month[m] == 5:
            units = wf.current_unit
            handlers = everyone[
                ~wf.is_agent
                & np.isin(units, org.claims_teams)
                & (wf.hire_day <= first)
                & (employed_end > first + 20)
            ]
            parts.append((handlers, first + rng.integers(5, 20, len(handlers)), "汛期理赔实务培训", 82, 0.95))
    for year in np.unique(cal.year):
        months = np.flatnonzero(cal.year == year)
        staff = everyone[~wf.is_agent]
        pick = months[rng.integers(0, len(months), len(staff))]
        day = cal.month_start[pick] + rng.integers(0, 25, len(staff))
        on_books = (wf.hire_day[staff] <= day) & (employed_end[staff] > day)
        parts.append((staff[on_books], day[on_books], "合规与反洗钱培训", 88, 0.95))

    who = np.concatenate([p[0] for p in parts])
    day = np.concatenate([p[1] for p in parts])
    course = np.concatenate([np.full(len(p[0]), p[2], dtype=object) for p in parts])
    mean = np.concatenate([np.full(len(p[0]), p[3]) for p in parts])
    rate = np.concatenate([np.full(len(p[0]), p[4]) for p in parts])
    keep = (day < cal.end_day) & (day < employed_end[who])
    who, day, course, mean, rate = who[keep], day[keep], course[keep], mean[keep], rate[keep]
    order = np.lexsort((who, day))
    who, day, course, mean, rate = who[order], day[order], course[order], mean[order], rate[order]
    k = len(who)
    completed = rng.random(k) < rate
    # Some branches train better than others (a pass rate to compare against the 90% target).
    branch_offset = rng.normal(0, 4, len(org.branches) + 1)
    branch = org.branch[wf.unit0[who]]
    mean = mean + branch_offset[np.where(branch == NA, len(org.branches), branch)]
    score10 = np.round(np.clip(rng.normal(mean, 10, k), 30, 100) * 2) * 5  # tenths of a point, 0.5 steps
    return {
        "external_id": np.array([f"TR{i + 1:07d}" for i in range(k)], dtype=object),
        "employee": who,
        "course": course,
        "completed_on": np.where(completed, day, NA),
        "passed": np.where(completed, (score10 >= 600).astype(np.int64), NA),
        "score_tenths": np.where(completed, score10.astype(np.int64), NA),
    }


def exit_records(world: World, rng: np.random.Generator) -> Frame:
    wf = world.wf
    who = np.flatnonzero(wf.exit_day != NA)
    who = who[np.lexsort((who, wf.exit_day[who]))]
    k = len(who)
    agent_reason = np.array(AGENT_EXIT_REASONS)[rng.choice(4, k, p=[0.35, 0.3, 0.2, 0.15])]
    early = (wf.origin[who] == 1) & ~wf.retained[who]
    agent_reason = np.where(early & (rng.random(k) < 0.5), "业绩未达标", agent_reason)
    staff_reason = np.array(STAFF_EXIT_REASONS[:4])[rng.choice(4, k, p=[0.4, 0.25, 0.2, 0.15])]
    age = (wf.exit_day[who] - wf.birth_day[who]) / 365.25
    staff_reason = np.where(age >= 55, STAFF_EXIT_REASONS[4], staff_reason)
    return {
        "external_id": np.array([f"X{i + 1:06d}" for i in range(k)], dtype=object),
        "employee": who,
        "exit_date": wf.exit_day[who],
        "reason": np.where(wf.is_agent[who], agent_reason, staff_reason),
    }


# --- IT operations -----------------------------------------------------------------------------------


def incident_records(world: World, rng: np.random.Generator) -> tuple[Frame, Frame]:
    """IT incidents and the units each affected. Outages of the sales systems list the life sales teams
    of the branches hit; their hours are what effect 3 charges against policies issued."""
    cal, org = world.cal, world.org
    nb = len(org.branches)
    months = cal.months
    per_month = rng.poisson(1.25 * nb * ar1_factors(rng, 1, months, 0.25)[0])
    month = np.repeat(np.arange(months), per_month)
    n = len(month)
    weights = np.array([s[2] for s in IT_SYSTEMS])
    system = rng.choice(len(IT_SYSTEMS), n, p=weights / weights.sum())
    serves = np.array([s[1] for s in IT_SYSTEMS])[system]
    severity = np.array(["P1", "P2", "P3", "P4"])[rng.choice(4, n, p=[0.06, 0.2, 0.44, 0.3])]
    median = np.array([SEVERITY_MEDIAN_HOURS[s] for s in severity])
    minutes = np.clip(np.round(median * rng.lognormal(0, 0.6, n) * 60), 5, 12 * 60).astype(np.int64)
    # Start before the month's last day so an outage ends in the month it began.
    day = cal.month_start[month] + (rng.random(n) * (cal.days_in_month[month] - 1)).astype(np.int64)
    office_hours = rng.random(n) < 0.6
    second = np.where(office_hours, rng.integers(9 * HOUR, 18 * HOUR, n), rng.integers(0, 24 * HOUR, n))
    started = local_seconds(day, second)
    order = np.lexsort((system, started))
    month, system, serves, severity, minutes, started = (
        a[order] for a in (month, system, serves, severity, minutes, started)
    )
    ended = started + minutes * 60

    risk = np.array([b.it_risk for b in org.branches])
    risk = risk / risk.sum()
    outage = np.zeros((len(org.units), months))
    inc_rows: list[np.ndarray] = []
    unit_rows: list[np.ndarray] = []
    transactions = np.zeros(n, dtype=np.int64)
    wide = rng.random(n)
    spread = rng.random(n)
    for i in range(n):
        if severity[i] == "P1":
            k = nb if wide[i] < 0.5 else min(nb, 2 + int(spread[i] < 0.5))
        else:
            k = 1 if wide[i] < 0.8 else 2
        hit = rng.choice(nb, k, replace=False, p=risk)
        units = _affected_units(org, serves[i], hit)
        if len(units) == 0:
            continue
        inc_rows.append(np.full(len(units), i))
        unit_rows.append(units)
        hours = minutes[i] / 60
        rate = {"sales": 6.0, "claims": 4.0}.get(serves[i], 2.0)
        transactions[i] = round(hours * len(units) * rate * rng.lognormal(0, 0.3))
        if serves[i] == "sales":
            outage[units, month[i]] += hours
    world.outage_hours = outage
    yyyymm = np.array(cal.yyyymm())[month]
    incidents = {
        "external_id": np.array([f"INC{ym}{i + 1:05d}" for i, ym in enumerate(yyyymm)], dtype=object),
        "system": np.array([s[0] for s in IT_SYSTEMS], dtype=object)[system],
        "severity": severity,
        "started_at": started,
        "ended_at": ended,
        "affected_transactions": transactions,
    }
    links = {"incident": np.concatenate(inc_rows), "unit": np.concatenate(unit_rows)}
    return incidents, links


def _affected_units(org: Org, serves: str, branches: np.ndarray) -> np.ndarray:
    in_branches = np.isin(org.branch, branches)
    if serves == "sales":
        return np.flatnonzero(in_branches & (org.key == "sales_team"))
    if serves == "claims":
        return np.flatnonzero(in_branches & np.isin(org.key, ["claims_auto", "claims_prop"]))
    if serves in ("finance", "hr"):
        return np.flatnonzero((in_branches | (org.branch == NA)) & (org.key == serves))
    return np.flatnonzero(in_branches & (org.key == "office"))


# --- Policy administration ---------------------------------------------------------------------------


def policy_records(world: World, rng: np.random.Generator) -> Frame:
    """Life and health policies sold by agents. Established agents sell at their own rate (x 开门红
    season x growth x outage effect); new agents' first 90 days follow effect 2: the policies' total
    first-year premium is over or under the 100,000 yuan target as drawn from their time-to-fill."""
    cal, wf = world.cal, world.wf
    spec = effects.PLANTED_EFFECTS["time_to_fill_new_agents"]
    window = spec["window_days"]
    agents = np.flatnonzero(wf.is_agent)
    n_agents = len(agents)
    month_idx = np.arange(cal.months)
    units = wf.unit_by_month(cal, agents)
    outage = effects.outage_multiplier(world.outage_hours[units, month_idx[None, :]])
    season = effects.LIFE_POLICY_SEASON[cal.cal_month - 1] * (1 + BUSINESS_GROWTH_PER_YEAR * month_idx / 12)
    is_new = wf.origin[agents] == 1
    hire = wf.hire_day[agents]

    # Established selling: [hire (or day 90 for new agents), exit].
    rate = rng.gamma(2.0, 0.75, n_agents) * np.where(wf.is_head[agents], 0.6, 1.0)
    lo, days = wf.active_days(cal, agents, start=np.where(is_new, hire + window, hire))
    count = rng.poisson(rate[:, None] * season[None, :] * outage * days / cal.days_in_month[None, :])
    a_i, m_i = np.nonzero(count)
    reps = count[a_i, m_i]
    a_i, m_i = np.repeat(a_i, reps), np.repeat(m_i, reps)
    issue = lo[a_i, m_i] + (rng.random(len(a_i)) * days[a_i, m_i]).astype(np.int64)
    health = rng.random(len(a_i)) < 0.25
    premium = ESTABLISHED_POLICY_PREMIUM_YUAN * rng.lognormal(0, 0.8, len(a_i))
    premium *= effects.LIFE_PREMIUM_SEASON[cal.cal_month[m_i] - 1] * np.where(health, 0.35, 1.0)
    premium = np.maximum(np.round(premium), 300).astype(np.int64)

    # New agents' first 90 days: counts follow the season and outages, the total is set by effect 2.
    ni = np.flatnonzero(is_new)
    window_end = hire[ni] + window
    wlo, wdays = wf.active_days(cal, agents[ni], start=hire[ni], end=window_end)
    wcount = rng.poisson(
        NEW_AGENT_POLICIES_PER_MONTH * season[None, :] * outage[ni] * wdays / cal.days_in_month
    )
    attains = wf.attains[agents[ni]]
    has_days = wdays.sum(axis=1) > 0
    force = attains & has_days & (wcount.sum(axis=1) == 0)
    first_month = np.argmax(wdays > 0, axis=1)
    wcount[np.flatnonzero(force), first_month[force]] = 1
    target = spec["target_yuan"]
    total = np.where(
        attains, target * (1.03 + rng.gamma(2.0, 0.18, len(ni))), target * 0.96 * rng.beta(2.2, 1.6, len(ni))
    )
    # A window still running at the snapshot has only sold its elapsed share so far.
    exit_day = wf.exit_day[agents[ni]]
    planned_end = np.where(exit_day == NA, window_end, np.minimum(window_end, exit_day + 1))
    elapsed = np.minimum(planned_end, cal.end_day) - hire[ni]
    total *= np.clip(elapsed / np.maximum(planned_end - hire[ni], 1), 0, 1)
    w_i, wm_i = np.nonzero(wcount)
    wreps = wcount[w_i, wm_i]
    w_i, wm_i = np.repeat(w_i, wreps), np.repeat(wm_i, wreps)
    wissue = wlo[w_i, wm_i] + (rng.random(len(w_i)) * wdays[w_i, wm_i]).astype(np.int64)
    share = rng.gamma(2.0, 1.0, len(w_i))
    share_sum = np.bincount(w_i, weights=share, minlength=len(ni))
    wpremium = np.round(total[w_i] * share / share_sum[w_i]).astype(np.int64)
    whealth = rng.random(len(w_i)) < 0.25

    agent = np.concatenate([agents[a_i], agents[ni][w_i]])
    month = np.concatenate([m_i, wm_i])
    issued = np.concatenate([issue, wissue])
    premium = np.concatenate([premium, wpremium])
    health = np.concatenate([health, whealth])
    new_window = np.concatenate([np.zeros(len(a_i), bool), np.ones(len(w_i), bool)])
    unit = np.concatenate([units[a_i, m_i], units[ni][w_i, wm_i]])
    order = np.lexsort((premium, agent, issued))
    agent, month, issued, premium, health, new_window, unit = (
        a[order] for a in (agent, month, issued, premium, health, new_window, unit)
    )
    n = len(agent)
    applied = np.maximum(issued - 1 - rng.poisson(4, n), wf.hire_day[agent])
    single = rng.random(n) < 0.15
    annualised = np.where(single, np.round(premium / 10), premium).astype(np.int64)

    # Lapses and surrenders: cooling-off cancellations, first-year surrenders, monthly-pay lapses, and
    # second-year premiums left unpaid (more often when the selling agent has gone: orphan policies).
    fate = rng.random(n)
    agent_gone = (wf.exit_day[agent] != NA) & (wf.exit_day[agent] < issued + 365)
    lapse_rate = np.where(agent_gone, 0.25, 0.10)
    terminated = np.full(n, NA, dtype=np.int64)
    status = np.full(n, "in_force", dtype=object)
    rules = [
        (fate < 0.02, issued + rng.integers(3, 16, n), "cancelled"),
        ((fate >= 0.02) & (fate < 0.04), issued + rng.integers(30, 366, n), "surrendered"),
        ((fate >= 0.04) & (fate < 0.07) & ~single, issued + rng.integers(60, 241, n), "lapsed"),
        ((fate >= 0.07) & (fate < 0.07 + lapse_rate) & ~single, issued + 365 + 60, "lapsed"),
    ]
    for sel, when, label in rules:
        hit = sel & (when < cal.end_day)
        terminated = np.where(hit, when, terminated)
        status = np.where(hit, label, status)
    world.truth["policies_new_window"] = new_window
    return {
        "external_id": _sequence_numbers("P", cal, issued),
        "agent": agent,
        "unit": unit,
        "month": month,
        "product_line": np.where(health, "health", "life"),
        "applied_on": applied,
        "issued_on": issued,
        "terminated_on": terminated,
        "first_year_premium_fen": premium * 100,
        "annualised_premium_fen": annualised * 100,
        "status": status,
    }


# --- Claims --------------------------------------------------------------------------------------------


def _claims_load(world: World) -> np.ndarray:
    """(branches, months) claims volume factor: the 汛期 surge scaled by each branch's flood exposure."""
    cal, org = world.cal, world.org
    season = effects.CLAIMS_SEASON[cal.cal_month - 1]
    flood = np.array([b.flood for b in org.branches])
    in_flood = np.isin(cal.cal_month, effects.FLOOD_MONTHS)
    return np.where(in_flood[None, :], 1 + (season[None, :] - 1) * flood[:, None], season[None, :])


def finance_speed(world: World, rng: np.random.Generator) -> np.ndarray:
    """(branches + 1, months) median claim-payment days of each branch's finance team (last row: HQ).
    Slower when claims pile up in the flood season; some branches get faster over the period."""
    cal, org = world.cal, world.org
    base = np.array([b.finance_days for b in org.branches] + [1.0])
    load = np.vstack([_claims_load(world), np.ones(cal.months)])
    progress = np.arange(cal.months) / max(cal.months - 1, 1)
    improves = np.array([b.finance_improves for b in org.branches] + [False])
    trend = np.where(improves[:, None], 1 - 0.35 * progress[None, :], 1.0)
    return base[:, None] * ar1_factors(rng, len(base), cal.months, 0.2) * (1 + 0.4 * (load - 1)) * trend


def claim_records(world: World, rng: np.random.Generator) -> Frame:
    """P&C claims with their whole timeline. Volume surges in the 汛期, with catastrophe-tagged claims
    around flood events; satisfaction follows effect 1 (payment days -> satisfaction)."""
    cal, org = world.cal, world.org
    nb = len(org.branches)
    months = cal.months
    handlers_b = np.array(
        [org.staff[org.claims_teams[org.branch[org.claims_teams] == b]].sum() for b in range(nb)]
    )
    load = _claims_load(world)
    growth = 1 + BUSINESS_GROWTH_PER_YEAR * np.arange(months) / 12
    count = rng.poisson(handlers_b[:, None] * CLAIMS_PER_HANDLER_MONTH * load * growth[None, :])
    b_i, m_i = np.nonzero(count)
    reps = count[b_i, m_i]
    branch = np.repeat(b_i, reps)
    m_i = np.repeat(m_i, reps)
    day = cal.month_start[m_i] + (rng.random(len(m_i)) * cal.days_in_month[m_i]).astype(np.int64)
    line = np.array(CLAIM_LINES)[rng.choice(3, len(day), p=[0.68, 0.22, 0.10])]
    tag = np.full(len(day), "", dtype=object)

    # Flood events: a burst of claims over a few days after each, most of them tagged.
    extra_branch, extra_day, extra_tag = [], [], []
    for m in range(months):
        if cal.cal_month[m] not in (7, 8, 9):
            continue
        for b, info in enumerate(org.branches):
            chance = min(0.9, 0.35 * info.flood)
            if rng.random() >= chance:
                continue
            start = int(cal.month_start[m] + rng.integers(0, cal.days_in_month[m] - 6))
            length = int(rng.integers(3, 7))
            label = f"{cal.year[m]}汛期-{info.catastrophe}"
            window = (branch == b) & (day >= start) & (day < start + length + 7) & (line != "liability")
            tag[window & (rng.random(len(day)) < 0.35)] = label
            k = int(rng.poisson(handlers_b[b] * CLAIMS_PER_HANDLER_MONTH * 0.5 * info.flood))
            extra_branch.append(np.full(k, b))
            extra_day.append(start + (rng.random(k) * (length + 7)).astype(np.int64))
            extra_tag.append(np.where(rng.random(k) < 0.9, label, ""))
    if extra_day:
        e_day = np.concatenate(extra_day)
        e_line = np.where(rng.random(len(e_day)) < 0.45, "auto", "property")
        keep = e_day < cal.end_day
        branch = np.concatenate([branch, np.concatenate(extra_branch)[keep]])
        day = np.concatenate([day, e_day[keep]])
        line = np.concatenate([line, e_line[keep]])
        tag = np.concatenate([tag, np.concatenate(extra_tag).astype(object)[keep]])
    catastrophe = tag != ""
    n = len(day)
    month = cal.month_of_day(day)

    # Timeline, in seconds.
    daytime = rng.random(n) < 0.7
    reported = local_seconds(
        day, np.where(daytime, rng.integers(8 * HOUR, 20 * HOUR, n), rng.integers(0, DAY, n))
    )
    order = np.lexsort((branch, reported))
    branch, day, line, tag, catastrophe, month, reported = (
        a[order] for a in (branch, day, line, tag, catastrophe, month, reported)
    )
    registered = reported + (rng.exponential(1.5 * HOUR, n)).astype(np.int64) + 60
    backlog = np.sqrt(load[branch, month])
    assess_days = np.array([ASSESS_MEDIAN_DAYS[x] for x in CLAIM_LINES])[_line_index(line)]
    assessed = registered + (assess_days * rng.lognormal(0, 0.6, n) * backlog * DAY).astype(np.int64)
    denied = rng.random(n) < 0.05
    approved = assessed + (0.5 * rng.lognormal(0, 0.5, n) * DAY).astype(np.int64)
    approve_month = np.clip(cal.month_of_day(local_day(approved)), 0, months - 1)
    spec = effects.PLANTED_EFFECTS["claim_payment_satisfaction"]
    payment_days = np.minimum(
        world.finance_speed[branch, approve_month] * rng.lognormal(0, 0.5, n), spec["max_payment_days"]
    )
    paid = approved + np.round(payment_days * DAY).astype(np.int64)
    payment_days = (paid - approved) / DAY  # exactly what the records will show
    closed = np.where(
        denied,
        assessed + (rng.lognormal(0, 0.5, n) * DAY).astype(np.int64),
        paid + rng.exponential(0.5 * DAY, n).astype(np.int64),
    )
    approved = np.where(denied, NA, approved)
    paid = np.where(denied, NA, paid)
    claimed = np.array([CLAIM_MEDIAN_YUAN[x] for x in CLAIM_LINES])[_line_index(line)]
    claimed = np.clip(claimed * rng.lognormal(0, 1.0, n) * np.where(catastrophe, 1.5, 1.0), 200, 5_000_000)
    claimed_fen = np.round(claimed * 100).astype(np.int64)
    settle_fen = np.round(claimed_fen * rng.beta(8, 2, n)).astype(np.int64)

    limit = cal.as_of_second
    registered_c, assessed_c, approved_c, paid_c = _censor([registered, assessed, approved, paid], limit)
    closed_c = np.where((closed < limit) & np.where(denied, assessed_c != NA, paid_c != NA), closed, NA)
    amount_paid = np.where(paid_c != NA, settle_fen, np.where(denied & (closed_c != NA), 0, NA))

    # Effect 1: each step of the 1-5 score is kept with probability p, which falls with payment days.
    answered = (closed_c != NA) & (rng.random(n) < spec["response_rate"])
    p = np.where(denied, 0.30, effects.satisfaction_p(line, payment_days))
    satisfaction = np.where(answered, 1 + rng.binomial(4, p), NA)

    # Handlers: an adjuster of the branch's motor or non-motor team who worked the whole month.
    handler, unit = _assign_handlers(
        world, rng, branch, month, np.where(line == "auto", "claims_auto", "claims_prop")
    )
    world.truth["claim_payment_days"] = np.where(denied, np.nan, payment_days)
    world.truth["claim_settle_fen"] = np.where(denied, NA, settle_fen)
    world.truth["claim_planned_paid"] = paid
    return {
        "external_id": _sequence_numbers("C", cal, day),
        "line": line,
        "handler": handler,
        "unit": unit,
        "reported_at": reported,
        "registered_at": registered_c,
        "assessed_at": assessed_c,
        "approved_at": approved_c,
        "paid_at": paid_c,
        "closed_at": closed_c,
        "amount_claimed_fen": claimed_fen,
        "amount_paid_fen": amount_paid,
        "satisfaction": satisfaction,
        "catastrophe_tag": tag,
    }


def _line_index(line: np.ndarray) -> np.ndarray:
    return np.select([line == x for x in CLAIM_LINES], [0, 1, 2])


def _assign_handlers(
    world: World, rng: np.random.Generator, branch: np.ndarray, month: np.ndarray, team_key: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    cal, org, wf = world.cal, world.org, world.wf
    staff = np.flatnonzero(
        ~wf.is_agent & (np.isin(wf.unit0, org.claims_teams) | np.isin(wf.unit1, org.claims_teams))
    )
    unit_month = wf.unit_by_month(cal, staff)
    exit_day = wf.exit_day[staff]
    whole = (wf.hire_day[staff][:, None] <= cal.month_start[None, :-1]) & (
        (exit_day[:, None] == NA) | (exit_day[:, None] >= cal.month_start[None, 1:] - 1)
    )
    handler = np.empty(len(branch), dtype=np.int64)
    unit = np.empty(len(branch), dtype=np.int64)
    groups = np.lexsort((team_key, month, branch))
    keys = np.stack(
        [branch[groups], month[groups], (team_key[groups] == "claims_auto").astype(np.int64)], axis=1
    )
    bounds = np.flatnonzero(np.any(np.diff(keys, axis=0) != 0, axis=1)) + 1
    for chunk in np.split(groups, bounds):
        if len(chunk) == 0:
            continue
        b, m, key = int(branch[chunk[0]]), int(month[chunk[0]]), team_key[chunk[0]]
        um = unit_month[:, m]
        pool = np.flatnonzero(whole[:, m] & (org.branch[um] == b) & (org.key[um] == key))
        if len(pool) == 0:
            pool = np.flatnonzero((org.branch[um] == b) & (org.key[um] == key) & wf.is_head[staff])
        pick = pool[rng.integers(0, len(pool), len(chunk))]
        handler[chunk] = staff[pick]
        unit[chunk] = um[pick]
    return handler, unit


# --- Finance -------------------------------------------------------------------------------------------


def payment_records(world: World, rng: np.random.Generator, claims: Frame, policies: Frame) -> Frame:
    """Claim payments (one per approved claim, referencing the claim number), monthly commissions per
    agent, and staff expense reimbursements."""
    cal, org, wf = world.cal, world.org, world.wf
    limit = cal.as_of_second
    parts: list[Frame] = []

    # Claim payments: requested when the claim is approved, paid when the claim shows paid.
    sel = np.flatnonzero(claims["approved_at"] != NA)
    requested = claims["approved_at"][sel]
    planned_paid = world.truth["claim_planned_paid"][sel]
    fin_ok = requested + ((planned_paid - requested) * rng.uniform(0.2, 0.6, len(sel))).astype(np.int64)
    _, fin_ok_c, paid_c = _censor([requested, fin_ok, planned_paid], limit)
    parts.append(
        {
            "kind": np.full(len(sel), "claim_payment", dtype=object),
            "reference": claims["external_id"][sel],
            "payee": np.full(len(sel), NA),
            "unit": claims["unit"][sel],
            "requested_at": requested,
            "approved_at": fin_ok_c,
            "paid_at": paid_c,
            "amount_fen": world.truth["claim_settle_fen"][sel],
        }
    )

    # Commissions: one per agent and month with business, paid in the following month.
    rate = np.where(policies["product_line"] == "health", COMMISSION_RATE["health"], COMMISSION_RATE["life"])
    key = policies["agent"] * cal.months + policies["month"]
    keys, inverse = np.unique(key, return_inverse=True)
    amount = np.round(np.bincount(inverse, weights=policies["first_year_premium_fen"] * rate)).astype(
        np.int64
    )
    agent, month = keys // cal.months, keys % cal.months
    due = month + 1 < cal.months
    agent, month, amount = agent[due], month[due], amount[due]
    requested = local_seconds(cal.month_start[month + 1] + 4, np.full(len(agent), 10 * HOUR))
    approved = requested + (rng.uniform(0.5, 2.5, len(agent)) * DAY).astype(np.int64)
    paid = approved + (rng.uniform(0.3, 3.0, len(agent)) * DAY).astype(np.int64)
    requested, approved, paid = _censor([requested, approved, paid], limit)
    keep = requested != NA
    numbers = np.array(wf.columns["employee_no"], dtype=object)
    yyyymm = np.array(cal.yyyymm())
    unit_month = wf.unit_by_month(cal, agent)[np.arange(len(agent)), month]
    parts.append(
        {
            "kind": np.full(int(keep.sum()), "commission", dtype=object),
            "reference": np.array(
                [f"COM-{ym}-{no}" for ym, no in zip(yyyymm[month], numbers[agent], strict=True)], dtype=object
            )[keep],
            "payee": agent[keep],
            "unit": unit_month[keep],
            "requested_at": requested[keep],
            "approved_at": approved[keep],
            "paid_at": paid[keep],
            "amount_fen": amount[keep],
        }
    )

    # Reimbursements: staff expense claims, approved and paid at the branch finance team's pace.
    staff = np.flatnonzero(~wf.is_agent)
    lo, days = wf.active_days(cal, staff)
    count = rng.poisson(REIMBURSEMENT_RATE * days / cal.days_in_month[None, :])
    s_i, m_i = np.nonzero(count)
    reps = count[s_i, m_i]
    s_i, m_i = np.repeat(s_i, reps), np.repeat(m_i, reps)
    day = lo[s_i, m_i] + (rng.random(len(s_i)) * days[s_i, m_i]).astype(np.int64)
    requested = local_seconds(day, rng.integers(9 * HOUR, 18 * HOUR, len(s_i)))
    unit = wf.unit_by_month(cal, staff)[s_i, m_i]
    b = np.where(org.branch[unit] == NA, len(org.branches), org.branch[unit])
    approved = requested + (world.finance_speed[b, m_i] * 1.5 * rng.lognormal(0, 0.6, len(s_i)) * DAY).astype(
        np.int64
    )
    paid = approved + (rng.lognormal(0, 0.5, len(s_i)) * DAY).astype(np.int64)
    requested, approved, paid = _censor([requested, approved, paid], limit)
    amount = np.round(np.clip(900 * rng.lognormal(0, 0.9, len(s_i)), 20, 30_000) * 100).astype(np.int64)
    order = np.argsort(requested, kind="stable")
    parts.append(
        {
            "kind": np.full(len(s_i), "reimbursement", dtype=object),
            "reference": np.array([f"RB{i + 1:07d}" for i in range(len(s_i))], dtype=object),
            "payee": staff[s_i][order],
            "unit": unit[order],
            "requested_at": requested[order],
            "approved_at": approved[order],
            "paid_at": paid[order],
            "amount_fen": amount[order],
        }
    )

    frame = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    prefix = {"claim_payment": "CP-", "commission": "", "reimbursement": ""}
    frame["external_id"] = np.array(
        [prefix[k] + ref for k, ref in zip(frame["kind"], frame["reference"], strict=True)], dtype=object
    )
    return frame

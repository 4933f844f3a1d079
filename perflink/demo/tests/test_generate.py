"""The demo generator in memory (no database): determinism, proportions, seasons, planted effects, and
references between the generated tables."""

from __future__ import annotations

import re
from datetime import date
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from perflink.demo import effects
from perflink.demo.calendar import DAY, NA, last_full_month, local_day
from perflink.demo.effects import PLANTED_EFFECTS
from perflink.demo.generate import MIN_EMPLOYEES, DemoConfig, DemoData, generate
from perflink.demo.people import id_check_ok, luhn_ok

END = date(2026, 10, 1)
DOCS = Path(__file__).resolve().parents[3] / "docs" / "demo-data.md"


@cache
def demo(employees: int = 500, months: int = 12, seed: int = 7) -> DemoData:
    return generate(DemoConfig(employees=employees, months=months, seed=seed, end_month=END))


def _slope(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.polyfit(x.astype(float), y.astype(float), 1)[0])


def test_default_period_ends_with_the_last_full_month() -> None:
    assert last_full_month(date(2026, 11, 28)) == date(2026, 10, 1)
    assert last_full_month(date(2026, 1, 1)) == date(2025, 12, 1)


def test_same_seed_gives_identical_data_and_another_seed_does_not() -> None:
    a = generate(DemoConfig(employees=300, months=6, seed=11, end_month=END))
    b = generate(DemoConfig(employees=300, months=6, seed=11, end_month=END))
    c = generate(DemoConfig(employees=300, months=6, seed=12, end_month=END))
    assert [u.code for u in a.org.units] == [u.code for u in b.org.units]
    assert a.wf.columns == b.wf.columns
    for kind, frame in a.records.items():
        for column, values in frame.items():
            np.testing.assert_array_equal(values, b.records[kind][column], err_msg=f"{kind}.{column}")
    assert a.wf.columns["id_number"] != c.wf.columns["id_number"]


def test_personal_data_is_well_formed() -> None:
    cols = demo().wf.columns
    assert all(len(x) == 18 and id_check_ok(x) for x in cols["id_number"])
    assert all(len(x) == 11 and x.isdigit() and x[0] == "1" for x in cols["mobile"])
    assert all(16 <= len(x) <= 19 and luhn_ok(x) for x in cols["bank_account"])
    assert all(2 <= len(x) <= 3 for x in cols["name"])
    assert len(set(cols["employee_no"])) == len(cols["employee_no"])


def test_about_half_the_people_are_agents_and_headcount_holds() -> None:
    d = demo()
    wf, cal = d.wf, d.cal
    for day in (cal.start_day, cal.end_day - 1):
        active = (wf.hire_day <= day) & ((wf.exit_day == NA) | (wf.exit_day >= day))
        assert 0.45 <= (active & wf.is_agent).sum() / active.sum() <= 0.55
        assert 0.85 * 500 <= active.sum() <= 1.15 * 500


def test_every_record_kind_has_rows() -> None:
    d = demo()
    for kind, frame in d.records.items():
        assert len(next(iter(frame.values()))) > 0, kind
    kinds = set(d.records["payment"]["kind"])
    assert kinds == {"claim_payment", "commission", "reimbursement"}
    assert set(d.records["policy"]["status"]) >= {"in_force", "lapsed", "surrendered", "cancelled"}


def test_kaimenhong_life_premium_surges_in_q1() -> None:
    d = demo()
    p = d.records["policy"]
    life = p["product_line"] == "life"
    per_month = np.bincount(
        p["month"][life], weights=p["first_year_premium_fen"][life], minlength=d.cal.months
    )
    q1 = np.isin(d.cal.cal_month, effects.KAIMENHONG_MONTHS)
    assert per_month[q1].mean() > 1.6 * per_month[~q1].mean()
    issued = np.bincount(p["month"][life], minlength=d.cal.months)
    assert issued[q1].mean() > 1.3 * issued[~q1].mean()


def test_flood_season_claims_surge_with_catastrophe_tags() -> None:
    d = demo()
    c = d.records["claim"]
    month = d.cal.month_of_day(local_day(c["reported_at"]))
    per_month = np.bincount(month, minlength=d.cal.months)
    flood = np.isin(d.cal.cal_month, effects.FLOOD_MONTHS)
    assert per_month[flood].mean() > 1.3 * per_month[~flood].mean()
    tagged = c["catastrophe_tag"] != ""
    assert tagged.sum() > 0
    assert all(re.fullmatch(r"20\d\d汛期-(台风|暴雨|洪水)", t) for t in set(c["catastrophe_tag"][tagged]))
    assert set(d.cal.cal_month[month[tagged]]) <= set(effects.FLOOD_MONTHS)


def test_effect_1_slower_claim_payment_lowers_satisfaction() -> None:
    c = demo().records["claim"]
    answered = (c["paid_at"] != NA) & (c["satisfaction"] != NA)
    days = (c["paid_at"][answered] - c["approved_at"][answered]) / DAY
    slope = _slope(days, c["satisfaction"][answered])
    planted = PLANTED_EFFECTS["claim_payment_satisfaction"]["mean_score_per_day"]
    assert abs(slope - planted) < 0.06, slope
    assert set(c["satisfaction"][c["satisfaction"] != NA]) <= {1, 2, 3, 4, 5}


def _new_agent_outcomes(d: DemoData) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(employee, time-to-fill, attained, retained) of agents hired through a requisition whose first
    90 days ended inside the period, computed from the records the way analytics will."""
    spec = PLANTED_EFFECTS["time_to_fill_new_agents"]
    wf, h, r, p = d.wf, d.records["hire"], d.records["requisition"], d.records["policy"]
    hired = h["employee"] != NA
    who, req = h["employee"][hired], h["requisition"][hired]
    keep = wf.is_agent[who] & (h["arrived_on"][hired] + spec["window_days"] <= d.cal.end_day)
    who, req, arrival = who[keep], req[keep], h["arrived_on"][hired][keep]
    ttf = arrival - r["opened_on"][req]
    start = wf.hire_day[p["agent"]]
    in_window = (p["issued_on"] >= start) & (p["issued_on"] < start + spec["window_days"])
    fyp = np.bincount(
        p["agent"][in_window], weights=p["first_year_premium_fen"][in_window], minlength=len(wf)
    )
    attained = fyp[who] >= spec["target_yuan"] * 100
    exit_day = wf.exit_day[who]
    retained = (exit_day == NA) | (exit_day >= arrival + spec["window_days"])
    return who, ttf, attained, retained


def test_effect_2_new_agent_outcomes_in_the_records_are_the_planted_draws() -> None:
    d = demo()
    who, ttf, attained, retained = _new_agent_outcomes(d)
    assert len(who) > 30
    np.testing.assert_array_equal(attained, d.wf.attains[who])
    np.testing.assert_array_equal(retained, d.wf.retained[who])
    np.testing.assert_array_equal(ttf, d.wf.time_to_fill[who])


def test_effect_2_slower_time_to_fill_lowers_attainment_and_retention() -> None:
    spec = PLANTED_EFFECTS["time_to_fill_new_agents"]
    parts = [_new_agent_outcomes(demo(seed=s)) for s in (1, 2, 3, 4, 5)]
    ttf = np.concatenate([p[1] for p in parts])
    attain_slope = _slope(ttf, np.concatenate([p[2] for p in parts]))
    retain_slope = _slope(ttf, np.concatenate([p[3] for p in parts]))
    assert abs(attain_slope - spec["attainment_per_day"]) < 0.006, attain_slope
    assert abs(retain_slope - spec["retention_per_day"]) < 0.006, retain_slope


def _team_months(d: DemoData) -> tuple[np.ndarray, np.ndarray]:
    """(policies issued, outage hours) per sales team and month, from the records."""
    cal, org, inc, links, p = (
        d.cal,
        d.org,
        d.records["incident"],
        d.records["incident_unit"],
        d.records["policy"],
    )
    hours = (inc["ended_at"] - inc["started_at"]) / 3600
    month = cal.month_of_day(local_day(inc["started_at"]))
    h = np.zeros((len(org.units), cal.months))
    np.add.at(h, (links["unit"], month[links["incident"]]), hours[links["incident"]])
    n = np.zeros((len(org.units), cal.months))
    np.add.at(n, (p["unit"], cal.month_of_day(p["issued_on"])), 1)
    return n[org.sales_teams], h[org.sales_teams]


def _poisson_fixed_effects(blocks: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """Percent change of policies issued per outage hour: Poisson regression with team and month effects."""
    ys, hs, teams, months = [], [], [], []
    n_teams = n_months = 0
    for n, h in blocks:
        t, m = n.shape
        ys.append(n.ravel())
        hs.append(h.ravel())
        teams.append(n_teams + np.repeat(np.arange(t), m))
        months.append(n_months + np.tile(np.arange(m), t))
        n_teams, n_months = n_teams + t, n_months + m
    y, hrs = np.concatenate(ys), np.concatenate(hs)
    x = np.zeros((len(y), n_teams + n_months + 1))
    x[np.arange(len(y)), np.concatenate(teams)] = 1
    x[np.arange(len(y)), n_teams + np.concatenate(months)] = 1
    x[:, -1] = hrs
    beta = np.zeros(x.shape[1])
    beta[:n_teams] = np.log(y.mean() + 0.5)
    for _ in range(25):  # iteratively reweighted least squares
        eta = x @ beta
        mu = np.exp(eta)
        beta = np.linalg.lstsq(x * np.sqrt(mu)[:, None], (eta + (y - mu) / mu) * np.sqrt(mu), rcond=None)[0]
    return float((np.exp(beta[-1]) - 1) * 100)


def test_effect_3_outage_hours_cost_policies_issued() -> None:
    blocks = [_team_months(demo(seed=s)) for s in (1, 2, 3, 4, 5)]
    assert all((h > 0).mean() > 0.2 for _, h in blocks)  # enough team-months with outages to learn from
    estimate = _poisson_fixed_effects(blocks)
    planted = PLANTED_EFFECTS["outage_policies"]["pct_per_hour"]
    assert planted - 3 < estimate < planted + 2.5, estimate


def test_references_between_generated_tables_are_consistent() -> None:
    d = demo()
    org, wf, cal, rec = d.org, d.wf, d.cal, d.records
    claims_teams, sales_teams = set(org.claims_teams), set(org.sales_teams)
    c = rec["claim"]
    assert not wf.is_agent[c["handler"]].any()
    assert set(c["unit"]) <= claims_teams
    month = cal.month_of_day(local_day(c["reported_at"]))
    np.testing.assert_array_equal(
        wf.unit_by_month(cal, c["handler"])[np.arange(len(month)), month], c["unit"]
    )
    p = rec["policy"]
    assert wf.is_agent[p["agent"]].all()
    assert set(p["unit"]) <= sales_teams
    assert (p["issued_on"] >= wf.hire_day[p["agent"]]).all()
    left = wf.exit_day[p["agent"]]
    assert ((left == NA) | (p["issued_on"] <= left)).all()
    assert (p["applied_on"] <= p["issued_on"]).all()
    x = rec["exit"]
    np.testing.assert_array_equal(np.sort(x["employee"]), np.flatnonzero(wf.exit_day != NA))
    np.testing.assert_array_equal(x["exit_date"], wf.exit_day[x["employee"]])
    h, r = rec["hire"], rec["requisition"]
    arrived = h["arrived_on"] != NA
    assert (h["arrived_on"][arrived] > r["opened_on"][h["requisition"][arrived]]).all()
    assert (h["arrived_on"][arrived] == wf.hire_day[h["employee"][arrived]]).all()
    offered = h["offer_on"] != NA
    assert (h["offer_on"][offered] > r["opened_on"][h["requisition"][offered]]).all()
    pay = rec["payment"]
    claim_pay = pay["kind"] == "claim_payment"
    assert set(pay["reference"][claim_pay]) <= set(c["external_id"])
    assert wf.is_agent[pay["payee"][pay["kind"] == "commission"]].all()
    assert (pay["payee"][claim_pay] == NA).all()
    assert len(set(pay["external_id"])) == len(pay["external_id"])
    for kind in ("policy", "claim", "requisition", "hire", "training", "exit", "incident"):
        ids = rec[kind]["external_id"]
        assert len(set(ids)) == len(ids), kind
    paid = c["paid_at"] != NA
    assert (c["paid_at"][paid] >= c["approved_at"][paid]).all()
    assert (c["approved_at"][paid] >= c["assessed_at"][paid]).all()
    assert (
        c["closed_at"][paid & (c["closed_at"] != NA)] >= c["paid_at"][paid & (c["closed_at"] != NA)]
    ).all()
    for column in ("reported_at", "registered_at", "assessed_at", "approved_at", "paid_at", "closed_at"):
        assert (c[column] < cal.as_of_second).all()


def test_planted_parameters_are_written_in_the_docs() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert "PLANTED_EFFECTS" in text
    numbers = [
        PLANTED_EFFECTS["claim_payment_satisfaction"]["p_per_day"],
        PLANTED_EFFECTS["claim_payment_satisfaction"]["mean_score_per_day"],
        PLANTED_EFFECTS["time_to_fill_new_agents"]["attainment_per_day"],
        PLANTED_EFFECTS["time_to_fill_new_agents"]["retention_per_day"],
        PLANTED_EFFECTS["outage_policies"]["pct_per_hour"],
    ]
    for number in numbers:
        assert f"{number:g}" in text, number


@pytest.mark.parametrize("bad", [{"employees": 50}, {"months": 0}, {"end_month": date(2026, 10, 5)}])
def test_config_rejects_nonsense(bad: dict) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        DemoConfig(**bad)


def test_the_smallest_allowed_demo_generates() -> None:
    """Every headquarters unit needs a head, even when 18% of the staff would be fewer people than that."""
    data = generate(DemoConfig(employees=MIN_EMPLOYEES, months=3, seed=7, end_month=END))
    hq = [u for u, plan in enumerate(data.org.units) if plan.branch == NA]
    assert set(hq) <= set(data.wf.unit0[data.wf.is_head].tolist())
    assert len(data.records["policy"]["external_id"]) > 0

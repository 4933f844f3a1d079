"""The analysis frames built straight from a generated demo in memory (no database), for the null-data tests:
the same definitions as `perflink.analytics.data`, on the generator's columns."""

from __future__ import annotations

import numpy as np
import polars as pl

from perflink.analytics.data import TARGET_YUAN, WINDOW_DAYS
from perflink.demo.calendar import DAY, HOUR, NA, local_day
from perflink.demo.generate import DemoData


def claims(demo: DemoData) -> pl.DataFrame:
    c = demo.records["claim"]
    ok = (c["paid_at"] != NA) & (c["approved_at"] != NA) & (c["satisfaction"] != NA)
    approved_day = local_day(c["approved_at"][ok])
    return pl.DataFrame(
        {
            "line": c["line"][ok].astype(str),
            "branch_id": demo.org.branch[c["unit"][ok]],
            "period": demo.cal.month_of_day(approved_day),
            "payment_days": (c["paid_at"][ok] - c["approved_at"][ok]) / DAY,
            "satisfaction": c["satisfaction"][ok].astype(float),
        }
    )


def new_agents(demo: DemoData) -> pl.DataFrame:
    h, r, p = demo.records["hire"], demo.records["requisition"], demo.records["policy"]
    wf = demo.wf
    emp = h["employee"]
    ok = (h["requisition"] != NA) & (h["arrived_on"] != NA) & (emp != NA)
    ok &= wf.is_agent[np.maximum(emp, 0)]
    last_day = int(p["issued_on"].max())
    ok &= h["arrived_on"] + WINDOW_DAYS <= last_day
    emp, arrived = emp[ok], h["arrived_on"][ok]
    ttf = (arrived - r["opened_on"][h["requisition"][ok]]).astype(float)
    row = np.full(len(wf.is_agent), -1)
    row[emp] = np.arange(len(emp))
    who = row[p["agent"]]
    inside = (who >= 0) & (p["issued_on"] >= arrived[np.maximum(who, 0)])
    inside &= p["issued_on"] < arrived[np.maximum(who, 0)] + WINDOW_DAYS
    premium = np.bincount(who[inside], weights=p["first_year_premium_fen"][inside] / 100, minlength=len(emp))
    exit_day = wf.exit_day[emp]
    return pl.DataFrame(
        {
            "time_to_fill": ttf,
            "attained": premium >= TARGET_YUAN,
            "retained": (exit_day == NA) | (exit_day >= arrived + WINDOW_DAYS),
        }
    )


def outages(demo: DemoData) -> pl.DataFrame:
    inc, links, p = demo.records["incident"], demo.records["incident_unit"], demo.records["policy"]
    n_units, months = len(demo.org.units), demo.cal.months
    policies = np.zeros((n_units, months))
    np.add.at(policies, (p["unit"], p["month"]), 1)
    hours = np.zeros((n_units, months))
    start = inc["started_at"][links["incident"]]
    month = demo.cal.month_of_day(local_day(start))
    np.add.at(hours, (links["unit"], month), (inc["ended_at"][links["incident"]] - start) / HOUR)
    u, t = np.nonzero(policies)
    return pl.DataFrame({"unit_id": u, "period": t, "policies": policies[u, t], "outage_hours": hours[u, t]})

"""The planted cause-and-effect relations of the demo insurer, with their exact parameters.

The analytics issue must be able to recover these numbers from the generated source records alone
(docs/demo-data.md states them in words). The generator reads its parameters from here, so this dict
is the single source of truth: change a number here and both the data and the tests follow.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

PLANTED_EFFECTS: dict[str, dict[str, Any]] = {
    # 1. Finance's claim-payment speed -> claimant satisfaction.
    "claim_payment_satisfaction": {
        "cause": "claim payment days = ClaimRecord.paid_at - ClaimRecord.approved_at, in days "
        "(the same interval as the claim's PaymentRecord requested_at -> paid_at)",
        "effect": "ClaimRecord.satisfaction (1-5) of paid claims",
        "model": "satisfaction = 1 + Binomial(4, p), p = base_p[line] + p_per_day * payment_days",
        "base_p": {"auto": 0.90, "property": 0.88, "liability": 0.86},
        "p_per_day": -0.05,
        # E[satisfaction] = 1 + 4 p, so the mean score moves 4 * p_per_day per day of payment time.
        "mean_score_per_day": -0.20,
        "max_payment_days": 15.0,  # payment times are capped here, so p never leaves [0.11, 0.90]
        "response_rate": 0.72,  # share of closed claims with a satisfaction answer (at random)
    },
    # 2. HR's time-to-fill -> new agents' 3-month attainment and retention.
    "time_to_fill_new_agents": {
        "cause": "time-to-fill = HireRecord.arrived_on - RequisitionRecord.opened_on, in days, "
        "of agents hired through a requisition",
        "effect_attainment": "the agent's policies issued in [arrived_on, arrived_on + 90 days) have a total "
        "first_year_premium >= 100,000 yuan",
        "effect_retention": "the agent is still employed 90 days after arrival "
        "(no exit_date, or exit_date >= arrived_on + 90 days)",
        "reference_days": 30,
        "attainment_at_reference": 0.62,
        "attainment_per_day": -0.010,  # -1.0 percentage point per extra day of time-to-fill
        "retention_at_reference": 0.50,
        "retention_per_day": -0.008,  # -0.8 percentage point per extra day of time-to-fill
        "probability_bounds": (0.05, 0.95),
        "target_yuan": 100_000,
        "window_days": 90,
    },
    # 3. IT outages -> policies issued.
    "outage_policies": {
        "cause": "outage hours of a life sales team in a month = the sum of (ended_at - started_at) in hours "
        "of the IncidentRecords that list the team among their IncidentUnits, by month of started_at",
        "effect": "PolicyRecords issued by the team (PolicyRecord.unit) in that month",
        "model": "expected policies issued = baseline(team, month) * (1 + pct_per_hour / 100) ** hours",
        "pct_per_hour": -3.0,  # each outage hour costs 3% of the team's policies that month
    },
}

# The slopes `effects_switched_off` sets to zero: with them at zero the causes still vary as before, but no
# longer move their outcomes (the null data the analytics tests check for false alarms).
EFFECT_SLOPES: tuple[tuple[str, str], ...] = (
    ("claim_payment_satisfaction", "p_per_day"),
    ("claim_payment_satisfaction", "mean_score_per_day"),
    ("time_to_fill_new_agents", "attainment_per_day"),
    ("time_to_fill_new_agents", "retention_per_day"),
    ("outage_policies", "pct_per_hour"),
)


@contextmanager
def effects_switched_off() -> Iterator[None]:
    """Generate within this block to get data with every planted effect at zero (`DemoConfig(effects_off=True)`)."""
    saved = {(e, k): PLANTED_EFFECTS[e][k] for e, k in EFFECT_SLOPES}
    try:
        for e, k in EFFECT_SLOPES:
            PLANTED_EFFECTS[e][k] = 0.0 * saved[(e, k)]
        yield
    finally:
        for (e, k), value in saved.items():
            PLANTED_EFFECTS[e][k] = value


# Seasonal multipliers by calendar month (index 0 = January).
# 开门红 (New-Year sales push): life policies issued and premium per policy surge January to March.
LIFE_POLICY_SEASON = np.array([2.0, 1.5, 1.7, 0.9, 0.95, 1.15, 0.85, 0.85, 0.95, 0.9, 0.95, 1.2])
LIFE_PREMIUM_SEASON = np.array([1.3, 1.25, 1.3, 1.0, 1.0, 1.05, 1.0, 1.0, 1.0, 1.0, 1.0, 1.1])
# 汛期 (flood season): P&C claims surge June to September (scaled by each branch's flood exposure).
CLAIMS_SEASON = np.array([1.1, 0.95, 0.95, 0.95, 1.0, 1.3, 1.7, 1.8, 1.45, 1.0, 0.95, 1.05])
# Agent recruiting peaks before 开门红.
AGENT_RECRUITING_SEASON = np.array([1.2, 0.9, 1.1, 0.85, 0.85, 0.85, 0.85, 0.85, 0.9, 1.1, 1.4, 1.5])
FLOOD_MONTHS = (6, 7, 8, 9)
KAIMENHONG_MONTHS = (1, 2, 3)


def satisfaction_p(line: np.ndarray, payment_days: np.ndarray) -> np.ndarray:
    """Per-claim probability of each of the four satisfaction steps (effect 1)."""
    spec = PLANTED_EFFECTS["claim_payment_satisfaction"]
    base = np.select([line == name for name in spec["base_p"]], list(spec["base_p"].values()), 0.88)
    days = np.minimum(payment_days, spec["max_payment_days"])
    return np.clip(base + spec["p_per_day"] * days, 0.02, 0.98)


def attainment_probability(time_to_fill_days: np.ndarray) -> np.ndarray:
    """Probability that a new agent reaches the 3-month first-year-premium target (effect 2)."""
    spec = PLANTED_EFFECTS["time_to_fill_new_agents"]
    p = spec["attainment_at_reference"] + spec["attainment_per_day"] * (
        time_to_fill_days - spec["reference_days"]
    )
    return np.clip(p, *spec["probability_bounds"])


def retention_probability(time_to_fill_days: np.ndarray) -> np.ndarray:
    """Probability that a new agent is still employed after 90 days (effect 2)."""
    spec = PLANTED_EFFECTS["time_to_fill_new_agents"]
    p = spec["retention_at_reference"] + spec["retention_per_day"] * (
        time_to_fill_days - spec["reference_days"]
    )
    return np.clip(p, *spec["probability_bounds"])


def outage_multiplier(hours: np.ndarray) -> np.ndarray:
    """Factor on a sales team's expected policies issued in a month with `hours` of outage (effect 3)."""
    return (1.0 + PLANTED_EFFECTS["outage_policies"]["pct_per_hour"] / 100.0) ** hours

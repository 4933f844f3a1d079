"""On data with no effect, the analyses must say so: at least 95% of the seeds tried report no significant
effect. Two sources of null data: panels simulated in numpy (the link estimator, with its lag search), and the
demo generator with every planted effect switched off (`DemoConfig(effects_off=True)`)."""

from __future__ import annotations

import numpy as np
import pytest

from perflink.analytics import selectors, stats
from perflink.analytics.tests import memory
from perflink.demo.generate import DemoConfig, generate

REQUIRED_SHARE = 0.95


def null_panel(seed: int, units: int = 30, months: int = 24) -> tuple[np.ndarray, ...]:
    """Unit levels, a season, an AR(1) lever that differs by unit, and an outcome that ignores the lever."""
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(units), months)
    period = np.tile(np.arange(24_290, 24_290 + months), units)
    season = np.sin(2 * np.pi * (period % 12) / 12)
    x = np.empty((units, months))
    x[:, 0] = rng.normal(0, 1, units)
    for t in range(1, months):
        x[:, t] = 0.6 * x[:, t - 1] + rng.normal(0, 1, units)
    lever = 3 + rng.normal(0, 1, units)[unit] + x.ravel() + 0.5 * season
    outcome = 10 + rng.normal(0, 2, units)[unit] + season + rng.normal(0, 1, units * months)
    return unit, period, lever, outcome


def test_given_simulated_panels_with_no_effect_when_estimated_then_at_least_95_percent_are_not_significant():
    seeds = range(200)
    verdicts = [stats.panel_impact(*null_panel(seed)).verdict for seed in seeds]
    quiet = sum(v is stats.Verdict.NOT_SIGNIFICANT for v in verdicts) / len(verdicts)
    assert quiet >= REQUIRED_SHARE, f"only {quiet:.0%} of {len(verdicts)} null panels reported no effect"


NULL_SEEDS = range(1000, 1100)


def _verdicts(demo) -> dict[str, stats.Verdict]:
    """The verdict of each record-based analysis on one demo."""
    c = memory.claims(demo)
    controls = {
        "line": c["line"].to_numpy(),
        "branch": c["branch_id"].to_numpy(),
        "month": c["period"].to_numpy(),
    }
    agents = memory.new_agents(demo)
    o = memory.outages(demo)
    outage = stats.panel_impact(
        o["unit_id"].to_numpy(),
        o["period"].to_numpy(),
        o["outage_hours"].to_numpy(),
        o["policies"].to_numpy(),
        lags=(0,),
        log_outcome=True,
        time_effects="period",
    )
    return {
        "claims": stats.regress(c["satisfaction"].to_numpy(), c["payment_days"].to_numpy(), controls).verdict,
        "attained": selectors.ttf_slope(agents, "attained").result.verdict,
        "retained": selectors.ttf_slope(agents, "retained").result.verdict,
        "outages": outage.verdict,
    }


@pytest.fixture(scope="module")
def null_verdicts() -> dict[str, list[stats.Verdict]]:
    """Each analysis's verdict on small demo insurers with every planted effect at zero, one per seed."""
    out: dict[str, list[stats.Verdict]] = {}
    for seed in NULL_SEEDS:
        demo = generate(DemoConfig(employees=1000, months=24, seed=seed, effects_off=True))
        for name, verdict in _verdicts(demo).items():
            out.setdefault(name, []).append(verdict)
    return out


def _share_quiet(verdicts: list[stats.Verdict]) -> float:
    return sum(v is stats.Verdict.NOT_SIGNIFICANT for v in verdicts) / len(verdicts)


@pytest.mark.parametrize("analysis", ["claims", "attained", "retained", "outages"])
def test_given_demo_data_with_effects_off_when_analysed_then_at_least_95_percent_of_seeds_are_not_significant(
    null_verdicts, analysis
):
    share = _share_quiet(null_verdicts[analysis])
    assert share >= REQUIRED_SHARE, (
        f"{analysis}: {share:.0%} of {len(NULL_SEEDS)} null demos reported no effect"
    )


def test_given_the_null_switch_when_generating_then_the_planted_effects_are_restored_afterwards():
    from perflink.demo.effects import PLANTED_EFFECTS

    generate(DemoConfig(employees=200, months=6, seed=1, effects_off=True))
    assert PLANTED_EFFECTS["outage_policies"]["pct_per_hour"] == -3.0
    assert PLANTED_EFFECTS["claim_payment_satisfaction"]["p_per_day"] == -0.05

"""Incentive plans shipped as examples: DOMAIN.md's worked examples, ready to adopt and adjust."""

from __future__ import annotations

from typing import Any

# DOMAIN.md §2.6: claims ↔ finance. 80% on the own scorecard, 20% tied to the claims cycle; if claims meets its
# cycle target (≤ 2 days) the multiplier follows finance's payment time (≤ 1 day 120%, 1–2 days 100%, > 2 days
# 80%), else −10%. A missing input follows the default rule (DOMAIN.md §3a, "missing is not zero"): a component
# without data is left out and the other weights scale up; a multiplier without data does not apply (×1).
FINANCE_PLAN: dict[str, Any] = {
    "base": {"kind": "fixed", "amount": "10000.00"},
    "components": [
        {
            "key": "own",
            "label": "本人考核",
            "weight": "80",
            "source": "score",
            "factor": {"kind": "ratio", "per": "100", "cap": "1.2"},
        },
        {
            "key": "claims",
            "label": "理赔周期",
            "weight": "20",
            "source": "linked:claim_cycle_days",
            "factor": {
                "kind": "bands",
                "bands": [{"upto": "2", "inclusive": True, "factor": "1"}, {"upto": None, "factor": "0"}],
            },
        },
    ],
    "multipliers": [
        {
            "key": "claims_link",
            "label": "理赔周期联动",
            "when": {"input": "linked:claim_cycle_days", "op": "le", "value": "2", "unit": "天"},
            "then": {
                "input": "own:claim_payment_days",
                "unit": "天",
                "bands": [
                    {"upto": "1", "inclusive": True, "factor": "1.20"},
                    {"upto": "2", "inclusive": True, "factor": "1.00"},
                    {"upto": None, "factor": "0.80"},
                ],
            },
            "else": {"factor": "0.90"},
        },
    ],
    "floor": "0",
    "cap": "30000",
}


# DOMAIN.md §2.6: 30% of HR's bonus tied to sales' new-hire attainment (the confirmed link of HR's time to fill to
# the sales department's new-agent 3-month attainment), 20% on the points HR earned on collaboration demands
# (demand_points: 100 points pay the full share), the rest on HR's own scorecard. A fixed base, like the finance plan.
# The attainment is read for the cohort whose 90 days closed in the period (agents who arrived three months
# earlier, DOMAIN.md §3a "maturity"), never for agents who arrived days ago.
HR_PLAN: dict[str, Any] = {
    "base": {"kind": "fixed", "amount": "10000.00"},
    "components": [
        {
            "key": "own",
            "label": "部门考核",
            "weight": "50",
            "source": "score",
            "factor": {"kind": "ratio", "per": "100", "cap": "1.2"},
        },
        {
            "key": "attainment",
            "label": "销售新人业绩达成",
            "weight": "30",
            "source": "linked:new_agent_attainment_3m",
            "maturity": "cohort",
            "factor": {"kind": "ratio", "per": "100", "cap": "1.2"},
        },
        {
            "key": "demands",
            "label": "协同需求得分",
            "weight": "20",
            "source": "own:demand_points",
            "factor": {"kind": "ratio", "per": "100", "cap": "1.2"},
        },
    ],
    "floor": "0",
    "cap": "30000",
}

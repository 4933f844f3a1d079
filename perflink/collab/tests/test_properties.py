"""Properties of recruitment evaluation (Hypothesis), on the pure progress and evaluation functions.

More hires arriving in time never costs the serving side points on arrival; and when the extra hires also reach
the per-hire target, the total never falls either. (By DOMAIN.md's definition the attainment rate is over the hires
who arrived, so an extra arrival who does *not* reach the target lowers that rate: the second property holds the
outcome fixed on purpose.)"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from perflink.collab.evaluation import evaluate
from perflink.collab.progress import frame_from_rows, recruitment_progress
from perflink.collab.specs import check_rule, check_spec

OPENED = dt.date(2026, 3, 2)
AS_OF = dt.date(2026, 12, 31)  # every window has matured


def _evaluate(positions: int, arrivals: list[bool], rule: dict[str, Any]) -> Any:
    """``arrivals``: one entry per hire who arrived in time, True when they reach the per-hire target."""
    spec = check_spec(
        "recruitment", {"positions": positions, "arrival_days": 10, "per_hire_target": "100000"}
    )
    hires = frame_from_rows(
        "hire",
        [
            {"id": i + 1, "version": 1, "candidate_name": f"c{i}", "channel": "内推",
             "arrived_on": OPENED + dt.timedelta(days=1 + i % 10), "employee_id": i + 1}
            for i in range(len(arrivals))
        ],
    )  # fmt: skip
    policies = frame_from_rows(
        "policy",
        [
            {"id": i + 1, "version": 1, "agent_id": i + 1, "status": "in_force", "first_year_premium": 100000.0,
             "issued_on": OPENED + dt.timedelta(days=12)}
            for i, reaches in enumerate(arrivals)
            if reaches
        ],
    )  # fmt: skip
    progress = recruitment_progress(
        spec, label="XQ-PROP", start=OPENED, as_of=AS_OF, hires=hires, policies=policies
    )
    return evaluate("recruitment", spec, check_rule("recruitment", spec, rule), progress)


rules = st.builds(
    lambda target, met, per_point: {
        "components": [
            {
                "measure": "arrival_rate",
                "target": str(target),
                "rule": {"kind": "threshold", "points_met": str(met)},
            },
            {
                "measure": "attainment_rate",
                "target": "100",
                "rule": {"kind": "linear", "per_point": str(per_point)},
            },
        ]
    },
    st.sampled_from([50, 80, 90, 100]),
    st.integers(min_value=0, max_value=50),
    st.decimals(min_value=0, max_value=3, places=2),
)
cohorts = st.lists(st.booleans(), max_size=30)
PROPERTY = settings(max_examples=40, deadline=None)


@PROPERTY
@given(
    positions=st.integers(1, 40),
    before=cohorts,
    extra=st.lists(st.booleans(), min_size=1, max_size=5),
    rule=rules,
)
def test_more_hires_in_time_never_lower_the_arrival_points(
    positions: int, before: list[bool], extra: list[bool], rule: dict[str, Any]
) -> None:
    first = _evaluate(positions, before, rule).components[0]
    then = _evaluate(positions, before + extra, rule).components[0]
    assert then.points >= first.points


@PROPERTY
@given(positions=st.integers(1, 40), before=cohorts, extra=st.integers(1, 5), rule=rules)
def test_more_hires_in_time_who_reach_the_target_never_lower_the_total(
    positions: int, before: list[bool], extra: int, rule: dict[str, Any]
) -> None:
    first = _evaluate(positions, before, rule).total or Decimal(0)
    then = _evaluate(positions, before + [True] * extra, rule).total
    assert then is not None and then >= first


def test_domain_md_s_example_on_the_pure_functions() -> None:
    rule = {
        "components": [
            {"measure": "arrival_rate", "target": "90", "rule": {"kind": "threshold", "points_met": "20"}},
            {"measure": "attainment_rate", "target": "100", "rule": {"kind": "linear", "per_point": "1"}},
        ]
    }
    evaluation = _evaluate(20, [True] * 12 + [False] * 6, rule)
    assert [c.points for c in evaluation.components] == [Decimal("20.00"), Decimal("66.67")]
    assert evaluation.total == Decimal("86.67")
    assert not evaluation.provisional

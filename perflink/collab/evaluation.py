"""A demand's evaluation: its rule applied to its progress with the metrics engine's scoring.

Each rule component scores one figure of the progress against its target with ``perflink.engine.scoring.score``
(on a one-row frame: the same exact arithmetic as every scorecard, points ROUND_HALF_UP to 2 places). The total is
the sum of the components' points; a component that cannot be scored (no value yet, too few records) has no
points and is shown as such, never as 0. With DOMAIN.md's recruitment rule, 18 of 20 arrived in time (90%, target
90 → 20 points) and 12 of 18 reaching 100,000 (66.666667% → 66.67 points) total 86.67.

An evaluation is *provisional* while any figure it scores may still change (see :mod:`perflink.collab.progress`);
evaluating again once the data have matured gives the final values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl

from perflink.collab.progress import Progress
from perflink.collab.specs import MEASURES, component_target
from perflink.engine.scoring import SCALE, Status, parse_rule, score

CENT = Decimal("0.01")


@dataclass(frozen=True)
class ComponentResult:
    measure: str
    rule: Mapping[str, Any]
    value: Decimal | None
    target: Decimal | None
    attainment: Decimal | None
    points: Decimal | None
    status: str
    provisional: bool

    def as_data(self) -> dict[str, Any]:
        def text(value: Decimal | None) -> str | None:
            return None if value is None else str(value)

        return {
            "measure": self.measure,
            "rule": dict(self.rule),
            "value": text(self.value),
            "target": text(self.target),
            "attainment": text(self.attainment),
            "points": text(self.points),
            "status": self.status,
            "provisional": self.provisional,
        }


@dataclass(frozen=True)
class Evaluation:
    as_of: dt.date
    components: tuple[ComponentResult, ...]
    total: Decimal | None
    provisional: bool

    def as_data(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "provisional": self.provisional,
            "total": None if self.total is None else str(self.total),
            "components": [c.as_data() for c in self.components],
        }


def _score_one(
    rule_data: Mapping[str, Any], value: Decimal | None, target: Decimal | None, n: int
) -> dict[str, Any]:
    """One figure scored by one rule: the engine's ``score`` on a one-row frame."""
    decimal = pl.Decimal(38, SCALE)
    frame = pl.DataFrame(
        {"value": [value], "target": [target], "n": [n]},
        schema={"value": decimal, "target": decimal, "n": pl.Int64},
    )
    return score(parse_rule(rule_data), frame).row(0, named=True)


def evaluate(kind: str, spec: Mapping[str, Any], rule: Mapping[str, Any], progress: Progress) -> Evaluation:
    """The demand's points by its rule over its progress (pure)."""
    results = []
    for component in rule.get("components", []):
        measure = MEASURES[kind][component["measure"]]
        figure = progress.figure(measure.key)
        value = figure.value if figure else None
        target = component_target(kind, spec, component)
        scored = _score_one(component["rule"], value, target, figure.n if figure else 0)
        results.append(
            ComponentResult(
                measure=measure.key,
                rule=component["rule"],
                value=value,
                target=target,
                attainment=scored["attainment"],
                points=scored["points"],
                status=scored["status"],
                provisional=bool(figure and figure.provisional),
            )
        )
    scored_points = [r.points for r in results if r.status == Status.SCORED and r.points is not None]
    total = sum(scored_points, Decimal(0)).quantize(CENT) if scored_points else None
    return Evaluation(
        as_of=progress.as_of,
        components=tuple(results),
        total=total,
        provisional=any(r.provisional for r in results),
    )

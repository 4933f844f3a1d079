"""Incentive plans (激励方案) as data, and the bonus they pay: pure, columnar, exact to the fen.

``parse_plan(dict) -> Plan`` validates a plan (e.g. loaded from JSON; never ``eval``) and raises ``PlanError``
whose message starts with the path of the faulty part (``multipliers[0].then.bands[1].upto must be greater
than bands[0].upto``). ``compute(plan, frame) -> BonusResult`` pays every person of ``frame`` at once and
writes the statement (计算说明) line by line. Numbers may be given as strings (preferred) or JSON numbers::

    {
      "base": {"kind": "fixed", "amount": "10000.00"},       # or {"kind": "per_person"}: the frame's base column
      "components": [                                         # weights: percent of the base, adding up to 100
        {"key": "own", "label": "本人考核", "weight": "70", "source": "score",
         "factor": {"kind": "ratio", "per": "100", "cap": "1.2"},          # score / 100, at most 1.2
         "missing": {"rule": "hold"}},                    # optional: leave_out (default), hold, zero, or a factor
        {"key": "sales", "label": "销售新人三个月达成", "weight": "30", "unit": "%",
         "source": "linked:new_agent_attainment_3m", "maturity": "cohort",    # optional: provisional (default)
         "factor": {"kind": "linear", "per_point": "0.01", "floor": "0", "cap": "1.2"}}
      ],
      "multipliers": [
        {"key": "claims", "label": "理赔周期联动",
         "when": {"input": "linked:claim_cycle_days", "op": "le", "value": "2", "unit": "天"},
         "then": {"input": "own:claim_payment_days", "unit": "天", "bands": [
             {"upto": "1", "inclusive": true, "factor": "1.20"},
             {"upto": "2", "inclusive": true, "factor": "1.00"},
             {"upto": null, "factor": "0.80"}]},
         "else": {"factor": "0.90"},
         "missing": {"factor": "1.00"}}     # optional: an input on the path taken is missing (default: ×1)
      ],
      "floor": "0", "cap": "50000",                         # money; floor defaults to 0, cap to none
      "pool": "1000000.00"                                  # optional budget: scale down to it when exceeded
    }

* Inputs are named ``score``, ``linked:<metric>`` (a linked business outcome) or ``own:<metric>`` (the
  person's own metric); each is a column of the input frame.
* Component factors: ``ratio`` (value ÷ per), ``linear`` (intercept + per_point × value), each with optional
  ``floor``/``cap``, or ``bands`` (``[{"upto", "inclusive", "factor"}]``, ascending, the last open-ended with
  ``upto: null``; ``inclusive`` (default true) says whether the bound itself is in the band: ``≤`` or ``<``).
* A multiplier has an optional ``when`` (``input op value``, op one of lt/le/gt/ge) with ``then`` and a
  required ``else``; each is a fixed ``{"factor"}`` or a band table over an input. Without ``when``, ``then``
  must be a band table. Multiplier factors are between 0 and 1000.
* Missing is not zero (DOMAIN.md §3a): a component whose input is null follows its ``missing`` rule:
  ``{"rule": "leave_out"}`` (the default when ``missing`` is absent, as on scorecards: the component drops out
  and the weights of the components kept scale up to 100), ``{"rule": "hold"}`` (factor 1), ``{"rule":
  "zero"}`` (factor 0) or ``{"factor": x}`` (the plan's own factor). A multiplier whose condition's input, or
  the band input of the branch the condition chose, is null takes its ``missing.factor``, or does not apply
  (×1) when ``missing`` is absent or ``{"rule": "leave_out"}``. The statement says which rule applied, which
  input was missing, and why when the frame says so (column ``<input>.why``, e.g. "等待 理赔部负责人 确认").
* Maturity (DOMAIN.md §3a): a component's ``maturity`` is ``provisional`` (default: it reads the period's own
  value; when the frame marks it immature, column ``<input>.provisional``, the line is marked 暂估 and is
  trued up by an adjustment once the value matures) or ``cohort`` (it reads column ``<source>@cohort``, the
  cohort whose window closed in the period, named on the statement from ``<input>.cohort``). The score has no
  cohorts.

Money and rounding (all arithmetic is on Int128: money in fen, factors and inputs in millionths):

1. inputs are read exactly to 6 decimal places (floats as the nearest millionth, as in scoring);
2. a ``ratio`` or ``linear`` factor is rounded half up to 6 places, then clamped; band factors are exact;
3. each component amount = base × effective weight% × factor, rounded half up to the fen (rounding 1 of
   money); the effective weight is the plan's weight × 100 ÷ Σ(weights of the components kept), rounded
   half up to 6 places (a weight, not money): the plan's weight itself when nothing is left out. A component
   left out pays 0; when every component is left out, the person's components all pay 0;
4. subtotal = the exact sum of those rounded component amounts;
5. the combined multiplier = the exact product of every multiplier's factor, rounded half up to 6 places
   only if it has more (never for e.g. three factors of two places each);
6. after multipliers = subtotal × combined multiplier, rounded half up to the fen (rounding 2 of money);
7. floor and cap: exact (``floored`` / ``capped`` flags);
8. pool, when the total exceeds it: each amount × pool ÷ total, rounded down to the fen, then the fen left
   over one each to the largest remainders (ties to the smaller person_id), so the payouts sum to the pool
   exactly and none exceeds its unscaled amount; under the pool nothing is scaled up. ``pool_scale`` (pool ÷
   total, half up to 6 places) is shown for information only.

So every money figure on the statement is rounded once, half up, from the figures shown before it.
"""

from perflink.engine.incentives.compute import BonusResult, allocate_pool, compute
from perflink.engine.incentives.plan import Plan, PlanError, parse_plan
from perflink.engine.incentives.statement import Wording

__all__ = ["BonusResult", "Plan", "PlanError", "Wording", "allocate_pool", "compute", "parse_plan"]

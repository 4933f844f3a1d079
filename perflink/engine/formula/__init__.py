"""The formula language of derived metrics: parse and type-check text once, then compile it to a polars expression.

A derived metric combines other metrics' values per subject, e.g. ``arrived_in_time / positions_requested * 100``
or ``if(claims_cycle_days <= 2, 1.2, 0.9)``. Formulas are data (STYLE rule 7): a hand-written tokenizer and Pratt
parser build a tree of frozen nodes; ``parse`` rejects syntax and type errors, ``check`` rejects unknown names and
cycles across a set of formulas, ``compile_expr`` turns a tree into one ``pl.Expr``. No user text ever reaches
Python's own parser or evaluator. ``evaluate`` is a reference interpreter over the same tree (tests, single-subject
previews) and ``explain`` renders a tree back as canonical text for the UI.

Syntax, loosest binding first; binary operators are left-associative, comparisons do not chain::

    or  |  and  |  not x  |  < <= > >= == !=  |  + -  |  * /  |  -x  |  number, name, true, false, f(...), (...)

Numbers are decimal (``12``, ``0.5``, ``1e3``). Names match ``[A-Za-z_][A-Za-z0-9_]*`` and refer to other metrics
or to built-ins the caller declares; the words in ``RESERVED_WORDS`` are never names. Functions: ``min(a, b, ...)``,
``max(a, b, ...)``, ``abs(x)``, ``round(x, n)`` (``n`` a whole-number literal 0 to 6), ``if(cond, a, b)``,
``coalesce(a, b, ...)`` and ``div(a, b, default)``.

Types are number and bool. Arithmetic and comparisons take numbers; ``and``, ``or``, ``not`` and the condition of
``if`` take bools; the branches of ``if`` share one type, as do the arguments of ``coalesce``; a formula as a whole
gives a number.

Semantics. Numbers are Float64; null means "no value for this subject".

- Arithmetic with a null operand is null. ``a / b`` is null where ``b`` is 0 (never inf or NaN); ``div(a, b, d)``
  gives ``d`` instead where ``b`` is 0 or null (and null where ``a`` is null but ``b`` is not 0).
- A comparison with a null operand is null. ``and``, ``or`` and ``not`` are three-valued as in SQL (Kleene logic):
  the result is null only when it depends on the missing value, so ``false and null`` is false and ``true or null``
  is true. ``if`` with a null condition is null.
- ``min`` and ``max`` are null if any argument is null: a missing input must not silently drop out of a floor or a
  cap. ``coalesce`` gives its first non-null argument (null if all are null).
- ``round(x, n)`` is ROUND_HALF_UP, i.e. half away from zero: ``floor(x * 10**n + 0.5) / 10**n`` for ``x >= 0`` and
  the mirror image for negatives, so ``round(2.5, 0)`` is 3 and ``round(-2.5, 0)`` is -3. It works on binary
  floats: ``round(1.005, 2)`` is 1.0 because 1.005 is stored as 1.00499... (money is rounded in Decimal elsewhere).
- A NaN in an input is read as null. Results beyond Float64's range overflow to ±inf, as IEEE arithmetic does.

Limits. A formula may nest at most ``MAX_DEPTH`` levels (brackets, operators, calls), and its compiled expression
may hold at most ``MAX_SIZE`` steps: ``min``, ``max``, ``round``, ``if``, ``/`` and ``div`` use an argument twice,
so nesting them doubles the work. Both limits are far above real formulas and keep a hostile one from stalling a
worker; a formula over them should be split into several derived metrics.

Positions. ``FormulaError.position`` is a 0-based character offset into the formula text; messages say
"at column N", counting from 1.
"""

from perflink.engine.formula.compile import compile_expr
from perflink.engine.formula.dependencies import check
from perflink.engine.formula.errors import FormulaError
from perflink.engine.formula.interpret import evaluate
from perflink.engine.formula.render import explain
from perflink.engine.formula.syntax import FUNCTIONS, MAX_DEPTH, MAX_SIZE, RESERVED_WORDS, parse
from perflink.engine.formula.syntax import ROUND_MAX_DIGITS as ROUND_MAX_DIGITS
from perflink.engine.formula.tree import Binary, Boolean, Call, Formula, Name, Node, Number, Unary

# ``X as X``: public before the split though not in __all__, so still importable from here.
__all__ = [
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_SIZE",
    "RESERVED_WORDS",
    "Binary",
    "Boolean",
    "Call",
    "Formula",
    "FormulaError",
    "Name",
    "Node",
    "Number",
    "Unary",
    "check",
    "compile_expr",
    "evaluate",
    "explain",
    "parse",
]

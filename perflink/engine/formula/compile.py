"""Compilation of a formula's tree to one polars expression."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from perflink.engine.formula.interpret import interpret_node
from perflink.engine.formula.syntax import type_of
from perflink.engine.formula.tree import Binary, Boolean, Call, Formula, Name, Node, Number, Unary, walk


def compile_expr(formula: Formula, column: Callable[[str], pl.Expr] = pl.col) -> pl.Expr:
    """The formula as one polars expression giving Float64, null where the rules in the package docstring say.

    ``column`` maps a name to the expression holding its values (by default the column of that name); inputs are
    cast to Float64 and NaN is read as null. The result is not aliased, so name it with ``.alias(code)``; a
    formula without names is a literal, which broadcasts in ``with_columns`` but is one row in ``select``.
    """
    return _compile(formula.root, column)


def _constant(node: Node) -> bool:
    return not any(isinstance(n, Name) for n in walk(node))


def _compile(node: Node, column: Callable[[str], pl.Expr]) -> pl.Expr:
    if not isinstance(node, Number | Boolean) and _constant(node):
        # A subtree without names is folded to its value here: polars may otherwise simplify a `when` on a
        # constant condition into a one-row result that does not broadcast (found by the Hypothesis property).
        value = interpret_node(node, {})
        dtype = pl.Boolean if type_of(node) == "bool" else pl.Float64
        return pl.lit(value, dtype=dtype)
    match node:
        case Number(value=value):
            return pl.lit(value, dtype=pl.Float64)
        case Boolean(value=value):
            return pl.lit(value, dtype=pl.Boolean)
        case Name(name=name):
            return column(name).cast(pl.Float64).fill_nan(None)
        case Unary(op="-", operand=operand):
            return -_compile(operand, column)
        case Unary(operand=operand):
            return ~_compile(operand, column)
        case Binary(op="/", left=left, right=right) if _constant(right):
            # A constant divisor is decided here rather than by a `when` on a constant condition.
            divisor = interpret_node(right, {})
            if divisor is None or divisor == 0:
                return pl.lit(None, dtype=pl.Float64)
            return _compile(left, column) / pl.lit(divisor, dtype=pl.Float64)
        case Binary(op=op, left=left, right=right):
            return _compile_binary(op, _compile(left, column), _compile(right, column))
        case Call(function="if", args=(condition, then, otherwise)) if _constant(condition):
            chosen = interpret_node(condition, {})
            if chosen is None:
                return pl.lit(None, dtype=pl.Boolean if type_of(then) == "bool" else pl.Float64)
            return _compile(then if chosen else otherwise, column)
        case Call(function="div", args=(dividend, divisor, default)) if _constant(divisor):
            value = interpret_node(divisor, {})
            if value is None or value == 0:
                return _compile(default, column)
            return _compile(dividend, column) / pl.lit(value, dtype=pl.Float64)
        case Call(function="round", args=(x, Number(value=places))):
            return _compile_round(_compile(x, column), int(places))
        case Call(function=function, args=args):
            return _compile_call(function, [_compile(arg, column) for arg in args])
    raise AssertionError(f"unexpected node {node!r}")


def _compile_binary(op: str, left: pl.Expr, right: pl.Expr) -> pl.Expr:
    match op:
        case "+":
            return left + right
        case "-":
            return left - right
        case "*":
            return left * right
        case "/":
            # No otherwise: null where the divisor is 0 or null.
            return pl.when(right != 0).then(left / right)
        case "<":
            return left < right
        case "<=":
            return left <= right
        case ">":
            return left > right
        case ">=":
            return left >= right
        case "==":
            return left == right
        case "!=":
            return left != right
        case "and":
            return left & right  # polars' & and | on booleans are Kleene, like the interpreter
        case "or":
            return left | right
    raise AssertionError(f"unknown operator {op!r}")


def _compile_call(function: str, args: list[pl.Expr]) -> pl.Expr:
    match function, args:
        case (("min" | "max"), _):
            # min_horizontal and max_horizontal skip nulls; the language makes any null win.
            extreme = pl.min_horizontal(*args) if function == "min" else pl.max_horizontal(*args)
            any_null = pl.any_horizontal(*(arg.is_null() for arg in args))
            return pl.when(any_null).then(pl.lit(None, dtype=pl.Float64)).otherwise(extreme)
        case "abs", [x]:
            return x.abs()
        case "coalesce", _:
            return pl.coalesce(*args)
        case "if", [condition, then, otherwise]:
            # Two whens and no otherwise, so a null condition gives null rather than the else branch.
            return pl.when(condition).then(then).when(~condition).then(otherwise)
        case "div", [dividend, divisor, default]:
            return pl.when((divisor != 0).fill_null(value=False)).then(dividend / divisor).otherwise(default)
    raise AssertionError(f"unknown function {function!r}")


def _compile_round(x: pl.Expr, places: int) -> pl.Expr:
    # sign(x) * floor(|x| * 10**n + 0.5) / 10**n is the package docstring's two-branch rule in one branch:
    # multiplying by ±1 is exact, so the result is the same float, and x is used twice rather than three times.
    scale = 10.0**places
    return x.sign() * (x.abs() * scale + 0.5).floor() / scale

"""The reference interpreter: one subject, plain Python floats, the same semantics as the compiled expression."""

from __future__ import annotations

import math
from collections.abc import Mapping

from perflink.engine.formula.errors import FormulaError, at
from perflink.engine.formula.tree import Binary, Boolean, Call, Formula, Name, Node, Number, Unary

_Value = float | bool | None


def evaluate(formula: Formula, values: Mapping[str, float | None]) -> float | None:
    """The formula's value for one subject, given each referenced name's value (None when missing).

    Every name in ``formula.names`` must be a key of ``values``, as every column must exist for ``compile_expr``;
    a name without a key raises ``FormulaError``.
    """
    return _number(_interpret(formula.root, values))


def _number(value: _Value) -> float | None:
    if value is None or isinstance(value, float):
        return value
    raise AssertionError(f"expected a number, got {value!r}")  # parse() rules this out


def _bool(value: _Value) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise AssertionError(f"expected a bool, got {value!r}")  # parse() rules this out


def interpret_node(node: Node, values: Mapping[str, float | None]) -> float | bool | None:
    """One subtree's value (the compiler folds subtrees without names with it)."""
    return _interpret(node, values)


def _interpret(node: Node, values: Mapping[str, float | None]) -> _Value:
    match node:
        case Number(value=value) | Boolean(value=value):
            return value
        case Name(name=name, position=position):
            if name not in values:
                raise FormulaError(f"no value given for {name!r} {at(position)}", position)
            raw = values[name]
            return None if raw is None or math.isnan(raw) else float(raw)
        case Unary(op="-", operand=operand):
            x = _number(_interpret(operand, values))
            return None if x is None else -x
        case Unary(operand=operand):
            b = _bool(_interpret(operand, values))
            return None if b is None else not b
        case Binary(op="and" | "or", left=left, right=right):
            return _kleene(node.op, _bool(_interpret(left, values)), _bool(_interpret(right, values)))
        case Binary(op=op, left=left, right=right):
            return _arithmetic(op, _number(_interpret(left, values)), _number(_interpret(right, values)))
        case Call(function="round", args=(x, Number(value=places))):
            rounded = _number(_interpret(x, values))
            return None if rounded is None else _round_half_up(rounded, int(places))
        case Call(function=function, args=args):
            return _call(function, [_interpret(arg, values) for arg in args])
    raise AssertionError(f"unexpected node {node!r}")


def _kleene(op: str, left: bool | None, right: bool | None) -> bool | None:
    decisive = op == "or"  # true decides 'or', false decides 'and', whatever the other side is
    if left is decisive or right is decisive:
        return decisive
    if left is None or right is None:
        return None
    return not decisive


def _arithmetic(op: str, left: float | None, right: float | None) -> _Value:
    if left is None or right is None:
        return None
    match op:
        case "+":
            return left + right
        case "-":
            return left - right
        case "*":
            return left * right
        case "/":
            return None if right == 0 else left / right
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
    raise AssertionError(f"unknown operator {op!r}")


def _call(function: str, args: list[_Value]) -> _Value:
    match function, args:
        case (("min" | "max"), _):
            numbers = [_number(arg) for arg in args]
            present = [x for x in numbers if x is not None]
            if len(present) < len(numbers):
                return None
            return min(present) if function == "min" else max(present)
        case "abs", [x]:
            number = _number(x)
            return None if number is None else abs(number)
        case "coalesce", _:
            return next((arg for arg in args if arg is not None), None)
        case "if", [condition, then, otherwise]:
            decided = _bool(condition)
            if decided is None:
                return None
            return then if decided else otherwise
        case "div", [dividend, divisor, default]:
            a, b = _number(dividend), _number(divisor)
            if b is None or b == 0:
                return default
            return None if a is None else a / b
    raise AssertionError(f"unknown function {function!r}")


def _round_half_up(x: float, places: int) -> float:
    scale = 10.0**places
    if x >= 0:
        return _floor(x * scale + 0.5) / scale
    return -_floor(-x * scale + 0.5) / scale


def _floor(x: float) -> float:
    return float(math.floor(x)) if math.isfinite(x) else x

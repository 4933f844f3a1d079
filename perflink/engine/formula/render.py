"""Canonical text: a formula's tree printed back with only the parentheses it needs."""

from __future__ import annotations

from perflink.engine.formula.tree import (
    ATOM_BP,
    BINARY_BP,
    COMPARISON_BP,
    NEGATION_BP,
    NOT_BP,
    Binary,
    Boolean,
    Call,
    Formula,
    Name,
    Node,
    Number,
    Unary,
)


def explain(formula: Formula) -> str:
    """The formula re-rendered canonically: single spaces around operators, ", " between arguments, numbers in
    their shortest form, and only the parentheses the tree needs. Parsing the result gives the same tree.

    One exception to "only the parentheses needed": a negation of a negation prints as ``-(-x)``, not ``--x``.
    """
    return _render(formula.root)


def format_number(value: float) -> str:
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)  # the shortest text that reads back as the same float; the tokenizer accepts it


def _binding(node: Node) -> int:
    match node:
        case Binary(op=op):
            return BINARY_BP[op]
        case Unary(op="not"):
            return NOT_BP
        case Unary():
            return NEGATION_BP
    return ATOM_BP


def _render(node: Node) -> str:
    match node:
        case Number(value=value):
            return format_number(value)
        case Boolean(value=value):
            return "true" if value else "false"
        case Name(name=name):
            return name
        case Unary(op="not", operand=operand):
            return f"not {_wrap(operand, _binding(operand) < NOT_BP)}"
        case Unary(operand=operand):
            return f"-{_wrap(operand, _binding(operand) <= NEGATION_BP)}"
        case Binary(op=op, left=left, right=right):
            bp = BINARY_BP[op]
            # Left-associative: an equal-binding left side needs no brackets, an equal right side does;
            # comparisons do not chain, so an equal left side needs them too.
            left_needs = _binding(left) < bp or (bp == COMPARISON_BP and _binding(left) == bp)
            right_needs = _binding(right) <= bp
            return f"{_wrap(left, left_needs)} {op} {_wrap(right, right_needs)}"
        case Call(function=function, args=args):
            return f"{function}({', '.join(_render(arg) for arg in args)})"
    raise AssertionError(f"unexpected node {node!r}")


def _wrap(node: Node, brackets: bool) -> str:
    text = _render(node)
    return f"({text})" if brackets else text

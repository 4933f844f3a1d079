"""Parsing and type checking: ``parse`` runs the Pratt parser over the tokens, then checks the tree's depth,
types and size, so a formula it accepts can be compiled and evaluated."""

from __future__ import annotations

import enum
import math
from collections.abc import Collection, Mapping
from typing import Final, assert_never

from perflink.engine.formula.errors import FormulaError, at
from perflink.engine.formula.render import format_number
from perflink.engine.formula.tokens import KEYWORDS, Token, describe_token, tokenize
from perflink.engine.formula.tree import (
    ARITHMETIC,
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
    children,
    walk,
)

MAX_DEPTH: Final = 100
MAX_SIZE: Final = 10_000

# Function name → (fewest, most) arguments; None means no upper bound.
FUNCTIONS: Final[Mapping[str, tuple[int, int | None]]] = {
    "abs": (1, 1),
    "coalesce": (2, None),
    "div": (3, 3),
    "if": (3, 3),
    "max": (2, None),
    "min": (2, None),
    "round": (2, 2),
}
RESERVED_WORDS: Final = KEYWORDS | frozenset(FUNCTIONS)

ROUND_MAX_DIGITS: Final = 6


class _Type(enum.StrEnum):
    NUMBER = "number"
    BOOL = "bool"


# --------------------------------------------------------------------------------------------------------------
# Parser: Pratt (precedence climbing) over the tokens.
# --------------------------------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self._tokens = tokenize(text)
        self._index = 0
        self._nesting = 0

    def parse(self) -> Node:
        if self._peek().kind == "end":
            raise FormulaError("the formula is empty", 0)
        node = self._expression(0)
        token = self._peek()
        if token.kind != "end":
            raise FormulaError(
                f"expected an operator or the end of the formula {at(token.position)}, "
                f"found {describe_token(token)}",
                token.position,
            )
        return node

    def _peek(self) -> Token:
        return self._tokens[self._index]

    def _advance(self) -> Token:
        token = self._tokens[self._index]
        if token.kind != "end":
            self._index += 1
        return token

    def _at_symbol(self, symbol: str) -> bool:
        token = self._peek()
        return token.kind == "symbol" and token.text == symbol

    def _expression(self, min_bp: int) -> Node:
        """Parse operators binding tighter than ``min_bp``; left-associative, comparisons never chained."""
        self._nesting += 1
        try:
            if self._nesting > MAX_DEPTH:
                position = self._peek().position
                raise FormulaError(
                    f"the formula nests more than {MAX_DEPTH} levels deep {at(position)}", position
                )
            left = self._prefix()
            after_comparison = False
            while True:
                token = self._peek()
                bp = BINARY_BP.get(token.text) if token.kind in ("symbol", "keyword") else None
                if bp is None or bp <= min_bp:
                    return left
                if bp == COMPARISON_BP and after_comparison:
                    raise FormulaError(
                        f"comparisons do not chain {at(token.position)}: join them with 'and'",
                        token.position,
                    )
                self._advance()
                right = self._expression(bp)
                left = Binary(token.text, left, right, token.position)
                after_comparison = bp == COMPARISON_BP
        finally:
            self._nesting -= 1

    def _prefix(self) -> Node:
        token = self._advance()
        if token.kind == "number":
            value = float(token.text)
            if not math.isfinite(value):
                raise FormulaError(
                    f"the number {token.text} {at(token.position)} is too large", token.position
                )
            return Number(value, token.position)
        if token.kind == "keyword" and token.text in ("true", "false"):
            return Boolean(token.text == "true", token.position)
        if token.kind == "keyword" and token.text == "not":
            return Unary("not", self._expression(NOT_BP), token.position)
        if token.kind == "symbol" and token.text == "-":
            return Unary("-", self._expression(NEGATION_BP), token.position)
        if token.kind == "symbol" and token.text == "(":
            inner = self._expression(0)
            self._close(token, "')'")
            return inner
        if token.kind == "name":
            if self._at_symbol("("):
                return self._call(token)
            if token.text in FUNCTIONS:
                raise FormulaError(
                    f"{token.text!r} {at(token.position)} is a function: call it as {token.text}(...)",
                    token.position,
                )
            return Name(token.text, token.position)
        raise FormulaError(
            f"expected a number, a name or '(' {at(token.position)}, found {describe_token(token)}",
            token.position,
        )

    def _close(self, opening: Token, expected: str) -> None:
        token = self._peek()
        if not self._at_symbol(")"):
            raise FormulaError(
                f"expected {expected} {at(token.position)} to close the '(' {at(opening.position)}, "
                f"found {describe_token(token)}",
                token.position,
            )
        self._advance()

    def _call(self, name: Token) -> Call:
        if name.text not in FUNCTIONS:
            raise FormulaError(
                f"unknown function {name.text!r} {at(name.position)} (known: {', '.join(sorted(FUNCTIONS))})",
                name.position,
            )
        opening = self._advance()
        args: list[Node] = []
        if not self._at_symbol(")"):
            args.append(self._expression(0))
            while self._at_symbol(","):
                self._advance()
                args.append(self._expression(0))
        self._close(opening, "',' or ')'" if args else "')'")
        call = Call(name.text, tuple(args), name.position)
        _check_arity(call)
        return call


def _check_arity(call: Call) -> None:
    fewest, most = FUNCTIONS[call.function]
    count = len(call.args)
    if fewest <= count and (most is None or count <= most):
        if call.function == "round":
            _check_round_digits(call.args[1])
        return
    if most is None:
        wanted = f"at least {fewest} arguments"
    else:
        wanted = f"{fewest} argument" if fewest == 1 else f"{fewest} arguments"
    raise FormulaError(
        f"{call.function}() {at(call.position)} takes {wanted}, got {count}",
        call.position,
    )


def _check_round_digits(digits: Node) -> None:
    if not (
        isinstance(digits, Number) and digits.value.is_integer() and 0 <= digits.value <= ROUND_MAX_DIGITS
    ):
        raise FormulaError(
            f"the places of round() {at(digits.position)} must be a whole number from 0 to {ROUND_MAX_DIGITS}, "
            "written as a number",
            digits.position,
        )


# --------------------------------------------------------------------------------------------------------------
# Checks on the tree: depth, types, size.
# --------------------------------------------------------------------------------------------------------------


def _check_depth(root: Node) -> None:
    # Iterative on purpose: a flat chain like a + a + ... + a is parsed without recursion but is deep as a tree,
    # and every later pass over the tree recurses.
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise FormulaError(
                f"the formula nests more than {MAX_DEPTH} levels deep {at(node.position)}", node.position
            )
        stack.extend((child, depth + 1) for child in children(node))


def _describe_node(node: Node) -> str:
    match node:
        case Number(value=value):
            return format_number(value)
        case Boolean(value=value):
            return "'true'" if value else "'false'"
        case Name(name=name):
            return repr(name)
        case Unary(op=op) | Binary(op=op):
            return repr(op)
        case Call(function=function):
            return f"{function}()"
    assert_never(node)


def type_of(node: Node) -> str:
    """ "number" or "bool" for a subtree of a parsed (so well-typed) formula."""
    return _type_of(node).value


def _type_of(node: Node) -> _Type:
    match node:
        case Number() | Name():
            return _Type.NUMBER
        case Boolean():
            return _Type.BOOL
        case Unary(op="-", operand=operand):
            _expect(operand, _Type.NUMBER, "the operand of '-'")
            return _Type.NUMBER
        case Unary(operand=operand):
            _expect(operand, _Type.BOOL, "the operand of 'not'")
            return _Type.BOOL
        case Binary(op=op, left=left, right=right):
            operands = _Type.BOOL if op in ("and", "or") else _Type.NUMBER
            _expect(left, operands, f"the left side of {op!r}")
            _expect(right, operands, f"the right side of {op!r}")
            return _Type.NUMBER if op in ARITHMETIC else _Type.BOOL
        case Call(function="if", args=(condition, *branches)):
            _expect(condition, _Type.BOOL, "the condition of if()")
            return _same_type(branches, "the branches of if()")
        case Call(function="coalesce", args=args):
            return _same_type(args, "the arguments of coalesce()")
        case Call(function=function, args=args):
            # round()'s places were checked to be a number literal when the call was parsed.
            for i, arg in enumerate(args, 1):
                _expect(arg, _Type.NUMBER, f"argument {i} of {function}()")
            return _Type.NUMBER
    assert_never(node)


def _expect(node: Node, wanted: _Type, what: str) -> None:
    got = _type_of(node)
    if got is not wanted:
        raise FormulaError(
            f"{what} must be a {wanted}, but {_describe_node(node)} {at(node.position)} is a {got}",
            node.position,
        )


def _same_type(nodes: Collection[Node], what: str) -> _Type:
    first, *rest = nodes
    wanted = _type_of(first)
    for node in rest:
        got = _type_of(node)
        if got is not wanted:
            raise FormulaError(
                f"{what} must have the same type, but {_describe_node(first)} {at(first.position)} is a {wanted} "
                f"and {_describe_node(node)} {at(node.position)} is a {got}",
                node.position,
            )
    return wanted


def _size(node: Node) -> int:
    """Steps in the compiled expression, counting an argument used twice (see ``compile._compile``) twice."""
    match node:
        case Number() | Boolean() | Name():
            return 1
        case Unary(operand=operand):
            return 1 + _size(operand)
        case Binary(op="/", left=left, right=right):
            return 1 + _size(left) + 2 * _size(right)
        case Binary(left=left, right=right):
            return 1 + _size(left) + _size(right)
        case Call(function="min" | "max" | "round", args=args):
            return 1 + 2 * sum(_size(arg) for arg in args)
        case Call(function="if", args=(condition, then, otherwise)):
            return 1 + 2 * _size(condition) + _size(then) + _size(otherwise)
        case Call(function="div", args=(dividend, divisor, default)):
            return 1 + _size(dividend) + 2 * _size(divisor) + _size(default)
        case Call(args=args):
            return 1 + sum(_size(arg) for arg in args)
    raise AssertionError(f"unexpected node {node!r}")


def parse(text: str) -> Formula:
    """Parse and type-check ``text``; raise ``FormulaError`` pointing at the first fault.

    Names are not resolved here (see ``check``): a name always stands for a number, so types are known without it.
    """
    root = _Parser(text).parse()
    _check_depth(root)
    kind = _type_of(root)
    if kind is not _Type.NUMBER:
        raise FormulaError(
            f"the formula must give a number, but {_describe_node(root)} {at(root.position)} gives true or false; "
            "turn it into a number with if(..., 1, 0)",
            root.position,
        )
    if _size(root) > MAX_SIZE:
        raise FormulaError(
            f"the formula is too large to compute (more than {MAX_SIZE} steps once compiled); "
            "split it into several derived metrics",
            0,
        )
    names = frozenset(node.name for node in walk(root) if isinstance(node, Name))
    return Formula(text=text, root=root, names=names)

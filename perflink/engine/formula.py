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

from __future__ import annotations

import enum
import math
import string
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal, assert_never

import polars as pl

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
_KEYWORDS: Final = frozenset({"and", "or", "not", "true", "false"})
RESERVED_WORDS: Final = _KEYWORDS | frozenset(FUNCTIONS)

ROUND_MAX_DIGITS: Final = 6


class FormulaError(ValueError):
    """A formula is malformed, ill-typed, refers to an unknown name or takes part in a cycle.

    ``position`` is the 0-based offset of the faulty spot in the formula text (None when there is no one spot);
    ``code`` names the derived metric whose formula it is, when ``check`` raised it.
    """

    def __init__(self, message: str, position: int | None = None, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.code = code


def _at(position: int) -> str:
    return f"at column {position + 1}"


class _Type(enum.StrEnum):
    NUMBER = "number"
    BOOL = "bool"


# --------------------------------------------------------------------------------------------------------------
# The tree. ``position`` points at the node's token (a binary node's operator, a call's function name); it is
# left out of equality, so trees parsed from differently spaced texts compare equal.
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Number:
    value: float
    position: int = field(compare=False)


@dataclass(frozen=True, slots=True)
class Boolean:
    value: bool
    position: int = field(compare=False)


@dataclass(frozen=True, slots=True)
class Name:
    name: str
    position: int = field(compare=False)


@dataclass(frozen=True, slots=True)
class Unary:
    op: Literal["-", "not"]
    operand: Node
    position: int = field(compare=False)


@dataclass(frozen=True, slots=True)
class Binary:
    op: str  # one of + - * / < <= > >= == != and or
    left: Node
    right: Node
    position: int = field(compare=False)


@dataclass(frozen=True, slots=True)
class Call:
    function: str  # a key of FUNCTIONS
    args: tuple[Node, ...]
    position: int = field(compare=False)


Node = Number | Boolean | Name | Unary | Binary | Call


@dataclass(frozen=True, slots=True)
class Formula:
    """A parsed, type-checked formula: its text, its tree and the names it refers to."""

    text: str
    root: Node
    names: frozenset[str]


# Binding powers: the parser and ``explain`` share them, so what is printed parses back to the same tree.
_OR_BP: Final = 1
_AND_BP: Final = 2
_NOT_BP: Final = 3
_COMPARISON_BP: Final = 4
_SUM_BP: Final = 5
_PRODUCT_BP: Final = 6
_NEGATION_BP: Final = 7
_ATOM_BP: Final = 8

_COMPARISONS: Final = frozenset({"<", "<=", ">", ">=", "==", "!="})
_ARITHMETIC: Final = frozenset({"+", "-", "*", "/"})
_BINARY_BP: Final[Mapping[str, int]] = {
    "or": _OR_BP,
    "and": _AND_BP,
    **dict.fromkeys(_COMPARISONS, _COMPARISON_BP),
    "+": _SUM_BP,
    "-": _SUM_BP,
    "*": _PRODUCT_BP,
    "/": _PRODUCT_BP,
}


# --------------------------------------------------------------------------------------------------------------
# Tokenizer.
# --------------------------------------------------------------------------------------------------------------

_DIGITS: Final = frozenset(string.digits)
_NAME_START: Final = frozenset(string.ascii_letters + "_")
_NAME_CHARS: Final = _NAME_START | _DIGITS
_TWO_CHAR_SYMBOLS: Final = ("<=", ">=", "==", "!=")
_ONE_CHAR_SYMBOLS: Final = frozenset("+-*/(),<>")
_SPACE: Final = frozenset(" \t\r\n")
# Formulas are often typed with a Chinese input method left in full-width mode.
_FULL_WIDTH: Final[Mapping[str, str]] = {
    "（": "(",
    "）": ")",
    "，": ",",
    "＋": "+",
    "－": "-",
    "＊": "*",
    "／": "/",
    "＜": "<",
    "＞": ">",
    "＝": "=",
    "。": ".",
}

_TokenKind = Literal["number", "name", "keyword", "symbol", "end"]


@dataclass(frozen=True, slots=True)
class _Token:
    kind: _TokenKind
    text: str
    position: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in _SPACE:
            i += 1
        elif ch in _DIGITS:
            end = _scan_number(text, i)
            tokens.append(_Token("number", text[i:end], i))
            i = end
        elif ch in _NAME_START:
            end = i + 1
            while end < n and text[end] in _NAME_CHARS:
                end += 1
            word = text[i:end]
            tokens.append(_Token("keyword" if word in _KEYWORDS else "name", word, i))
            i = end
        elif text.startswith(_TWO_CHAR_SYMBOLS, i):
            tokens.append(_Token("symbol", text[i : i + 2], i))
            i += 2
        elif ch in _ONE_CHAR_SYMBOLS:
            tokens.append(_Token("symbol", ch, i))
            i += 1
        else:
            raise FormulaError(f"unexpected character {ch!r} {_at(i)}{_hint(text, i)}", i)
    tokens.append(_Token("end", "", n))
    return tokens


def _hint(text: str, i: int) -> str:
    ch = text[i]
    if ch == "=":
        return "; did you mean '=='?"
    if ch == "!":
        return "; did you mean '!=' or 'not'?"
    if ch == "." and text[i + 1 : i + 2] in _DIGITS:
        return "; write numbers with a leading digit, as in 0.5"
    if ch in _FULL_WIDTH:
        return f"; did you mean {_FULL_WIDTH[ch]!r}? (switch the input method to half-width)"
    return ""


def _scan_number(text: str, start: int) -> int:
    """The end of the decimal literal starting at ``start``: digits, an optional fraction, an optional exponent."""
    n = len(text)
    i = start
    while i < n and text[i] in _DIGITS:
        i += 1
    if i < n and text[i] == ".":
        i += 1
        if i >= n or text[i] not in _DIGITS:
            raise FormulaError(f"expected a digit after '.' {_at(i)}", i)
        while i < n and text[i] in _DIGITS:
            i += 1
    if i < n and text[i] in "eE":
        i += 1
        if i < n and text[i] in "+-":
            i += 1
        if i >= n or text[i] not in _DIGITS:
            raise FormulaError(f"expected the digits of an exponent {_at(i)}", i)
        while i < n and text[i] in _DIGITS:
            i += 1
    if i < n and text[i] in _NAME_CHARS | {"."}:
        raise FormulaError(f"expected an operator after the number {_at(i)}, found {text[i]!r}", i)
    return i


def _describe(token: _Token) -> str:
    if token.kind == "end":
        return "the end of the formula"
    if token.kind == "number":
        return f"the number {token.text}"
    if token.kind == "name":
        return f"the name {token.text!r}"
    return repr(token.text)


# --------------------------------------------------------------------------------------------------------------
# Parser: Pratt (precedence climbing) over the tokens.
# --------------------------------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self._tokens = _tokenize(text)
        self._index = 0
        self._nesting = 0

    def parse(self) -> Node:
        if self._peek().kind == "end":
            raise FormulaError("the formula is empty", 0)
        node = self._expression(0)
        token = self._peek()
        if token.kind != "end":
            raise FormulaError(
                f"expected an operator or the end of the formula {_at(token.position)}, found {_describe(token)}",
                token.position,
            )
        return node

    def _peek(self) -> _Token:
        return self._tokens[self._index]

    def _advance(self) -> _Token:
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
                    f"the formula nests more than {MAX_DEPTH} levels deep {_at(position)}", position
                )
            left = self._prefix()
            after_comparison = False
            while True:
                token = self._peek()
                bp = _BINARY_BP.get(token.text) if token.kind in ("symbol", "keyword") else None
                if bp is None or bp <= min_bp:
                    return left
                if bp == _COMPARISON_BP and after_comparison:
                    raise FormulaError(
                        f"comparisons do not chain {_at(token.position)}: join them with 'and'",
                        token.position,
                    )
                self._advance()
                right = self._expression(bp)
                left = Binary(token.text, left, right, token.position)
                after_comparison = bp == _COMPARISON_BP
        finally:
            self._nesting -= 1

    def _prefix(self) -> Node:
        token = self._advance()
        if token.kind == "number":
            value = float(token.text)
            if not math.isfinite(value):
                raise FormulaError(
                    f"the number {token.text} {_at(token.position)} is too large", token.position
                )
            return Number(value, token.position)
        if token.kind == "keyword" and token.text in ("true", "false"):
            return Boolean(token.text == "true", token.position)
        if token.kind == "keyword" and token.text == "not":
            return Unary("not", self._expression(_NOT_BP), token.position)
        if token.kind == "symbol" and token.text == "-":
            return Unary("-", self._expression(_NEGATION_BP), token.position)
        if token.kind == "symbol" and token.text == "(":
            inner = self._expression(0)
            self._close(token, "')'")
            return inner
        if token.kind == "name":
            if self._at_symbol("("):
                return self._call(token)
            if token.text in FUNCTIONS:
                raise FormulaError(
                    f"{token.text!r} {_at(token.position)} is a function: call it as {token.text}(...)",
                    token.position,
                )
            return Name(token.text, token.position)
        raise FormulaError(
            f"expected a number, a name or '(' {_at(token.position)}, found {_describe(token)}",
            token.position,
        )

    def _close(self, opening: _Token, expected: str) -> None:
        token = self._peek()
        if not self._at_symbol(")"):
            raise FormulaError(
                f"expected {expected} {_at(token.position)} to close the '(' {_at(opening.position)}, "
                f"found {_describe(token)}",
                token.position,
            )
        self._advance()

    def _call(self, name: _Token) -> Call:
        if name.text not in FUNCTIONS:
            raise FormulaError(
                f"unknown function {name.text!r} {_at(name.position)} (known: {', '.join(sorted(FUNCTIONS))})",
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
        f"{call.function}() {_at(call.position)} takes {wanted}, got {count}",
        call.position,
    )


def _check_round_digits(digits: Node) -> None:
    if not (
        isinstance(digits, Number) and digits.value.is_integer() and 0 <= digits.value <= ROUND_MAX_DIGITS
    ):
        raise FormulaError(
            f"the places of round() {_at(digits.position)} must be a whole number from 0 to {ROUND_MAX_DIGITS}, "
            "written as a number",
            digits.position,
        )


# --------------------------------------------------------------------------------------------------------------
# Checks on the tree: depth, types, size.
# --------------------------------------------------------------------------------------------------------------


def _children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, Call):
        return node.args
    return ()


def _walk(root: Node) -> Iterator[Node]:
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(_children(node)))


def _check_depth(root: Node) -> None:
    # Iterative on purpose: a flat chain like a + a + ... + a is parsed without recursion but is deep as a tree,
    # and every later pass over the tree recurses.
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise FormulaError(
                f"the formula nests more than {MAX_DEPTH} levels deep {_at(node.position)}", node.position
            )
        stack.extend((child, depth + 1) for child in _children(node))


def _describe_node(node: Node) -> str:
    match node:
        case Number(value=value):
            return _format_number(value)
        case Boolean(value=value):
            return "'true'" if value else "'false'"
        case Name(name=name):
            return repr(name)
        case Unary(op=op) | Binary(op=op):
            return repr(op)
        case Call(function=function):
            return f"{function}()"
    assert_never(node)


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
            return _Type.NUMBER if op in _ARITHMETIC else _Type.BOOL
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
            f"{what} must be a {wanted}, but {_describe_node(node)} {_at(node.position)} is a {got}",
            node.position,
        )


def _same_type(nodes: Collection[Node], what: str) -> _Type:
    first, *rest = nodes
    wanted = _type_of(first)
    for node in rest:
        got = _type_of(node)
        if got is not wanted:
            raise FormulaError(
                f"{what} must have the same type, but {_describe_node(first)} {_at(first.position)} is a {wanted} "
                f"and {_describe_node(node)} {_at(node.position)} is a {got}",
                node.position,
            )
    return wanted


def _size(node: Node) -> int:
    """Steps in the compiled expression, counting an argument used twice (see ``_compile``) twice."""
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
            f"the formula must give a number, but {_describe_node(root)} {_at(root.position)} gives true or false; "
            "turn it into a number with if(..., 1, 0)",
            root.position,
        )
    if _size(root) > MAX_SIZE:
        raise FormulaError(
            f"the formula is too large to compute (more than {MAX_SIZE} steps once compiled); "
            "split it into several derived metrics",
            0,
        )
    names = frozenset(node.name for node in _walk(root) if isinstance(node, Name))
    return Formula(text=text, root=root, names=names)


# --------------------------------------------------------------------------------------------------------------
# A set of formulas: every name known, no cycles, an evaluation order.
# --------------------------------------------------------------------------------------------------------------


def _first_positions(formula: Formula) -> dict[str, int]:
    """Each referenced name → where it first occurs, in order of occurrence."""
    positions: dict[str, int] = {}
    for node in sorted((n for n in _walk(formula.root) if isinstance(n, Name)), key=lambda n: n.position):
        positions.setdefault(node.name, node.position)
    return positions


def check(formulas: Mapping[str, Formula], known: Collection[str]) -> list[str]:
    """Check the derived metrics' formulas together; return their codes in an order fit for evaluation.

    ``formulas`` maps a derived metric's code to its formula; ``known`` holds the codes of base metrics and the
    built-ins. Every name must be one or the other, and a formula may refer to other derived metrics, but not in a
    cycle. In the result every code comes after the derived codes its formula refers to (ties keep the order of
    ``formulas``). Raises ``FormulaError`` (with ``code`` and ``position`` set) for an unknown name, a code that is
    both derived and known, or a cycle, whose message shows the path, e.g. "cycle a → b → a".
    """
    known_names = frozenset(known)
    references: dict[str, dict[str, int]] = {}
    for code, formula in formulas.items():
        if code in known_names:
            raise FormulaError(f"{code!r} is both a derived metric and a base metric or built-in", code=code)
        references[code] = positions = _first_positions(formula)
        for name, position in positions.items():
            if name not in known_names and name not in formulas:
                raise FormulaError(
                    f"formula {code!r}: unknown name {name!r} {_at(position)}", position, code=code
                )
    return _evaluation_order(
        {
            code: [(name, at) for name, at in refs.items() if name in formulas]
            for code, refs in references.items()
        }
    )


def _evaluation_order(dependencies: Mapping[str, list[tuple[str, int]]]) -> list[str]:
    """Depth-first post-order (iterative, so long chains cannot exhaust the stack); a back edge is a cycle."""
    order: list[str] = []
    done: set[str] = set()
    for start in dependencies:
        if start in done:
            continue
        path = [start]
        pending = [iter(dependencies[start])]
        while pending:
            step = next(pending[-1], None)
            if step is None:
                pending.pop()
                finished = path.pop()
                done.add(finished)
                order.append(finished)
                continue
            name, position = step
            if name in done:
                continue
            if name in path:
                cycle = " → ".join([*path[path.index(name) :], name])
                raise FormulaError(
                    f"cycle {cycle}: formula {path[-1]!r} refers to {name!r} {_at(position)}",
                    position,
                    code=path[-1],
                )
            path.append(name)
            pending.append(iter(dependencies[name]))
    return order


# --------------------------------------------------------------------------------------------------------------
# Compilation to polars.
# --------------------------------------------------------------------------------------------------------------


def compile_expr(formula: Formula, column: Callable[[str], pl.Expr] = pl.col) -> pl.Expr:
    """The formula as one polars expression giving Float64, null where the rules in the module docstring say.

    ``column`` maps a name to the expression holding its values (by default the column of that name); inputs are
    cast to Float64 and NaN is read as null. The result is not aliased, so name it with ``.alias(code)``; a
    formula without names is a literal, which broadcasts in ``with_columns`` but is one row in ``select``.
    """
    return _compile(formula.root, column)


def _compile(node: Node, column: Callable[[str], pl.Expr]) -> pl.Expr:
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
        case Binary(op=op, left=left, right=right):
            return _compile_binary(op, _compile(left, column), _compile(right, column))
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
    # sign(x) * floor(|x| * 10**n + 0.5) / 10**n is the docstring's two-branch rule in one branch: multiplying by
    # ±1 is exact, so the result is the same float, and x is used twice rather than three times.
    scale = 10.0**places
    return x.sign() * (x.abs() * scale + 0.5).floor() / scale


# --------------------------------------------------------------------------------------------------------------
# The reference interpreter: one subject, plain Python floats, the same semantics as the compiled expression.
# --------------------------------------------------------------------------------------------------------------

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


def _interpret(node: Node, values: Mapping[str, float | None]) -> _Value:
    match node:
        case Number(value=value) | Boolean(value=value):
            return value
        case Name(name=name, position=position):
            if name not in values:
                raise FormulaError(f"no value given for {name!r} {_at(position)}", position)
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


# --------------------------------------------------------------------------------------------------------------
# Canonical text.
# --------------------------------------------------------------------------------------------------------------


def explain(formula: Formula) -> str:
    """The formula re-rendered canonically: single spaces around operators, ", " between arguments, numbers in
    their shortest form, and only the parentheses the tree needs. Parsing the result gives the same tree.

    One exception to "only the parentheses needed": a negation of a negation prints as ``-(-x)``, not ``--x``.
    """
    return _render(formula.root)


def _format_number(value: float) -> str:
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value)  # the shortest text that reads back as the same float; the tokenizer accepts it


def _binding(node: Node) -> int:
    match node:
        case Binary(op=op):
            return _BINARY_BP[op]
        case Unary(op="not"):
            return _NOT_BP
        case Unary():
            return _NEGATION_BP
    return _ATOM_BP


def _render(node: Node) -> str:
    match node:
        case Number(value=value):
            return _format_number(value)
        case Boolean(value=value):
            return "true" if value else "false"
        case Name(name=name):
            return name
        case Unary(op="not", operand=operand):
            return f"not {_wrap(operand, _binding(operand) < _NOT_BP)}"
        case Unary(operand=operand):
            return f"-{_wrap(operand, _binding(operand) <= _NEGATION_BP)}"
        case Binary(op=op, left=left, right=right):
            bp = _BINARY_BP[op]
            # Left-associative: an equal-binding left side needs no brackets, an equal right side does;
            # comparisons do not chain, so an equal left side needs them too.
            left_needs = _binding(left) < bp or (bp == _COMPARISON_BP and _binding(left) == bp)
            right_needs = _binding(right) <= bp
            return f"{_wrap(left, left_needs)} {op} {_wrap(right, right_needs)}"
        case Call(function=function, args=args):
            return f"{function}({', '.join(_render(arg) for arg in args)})"
    raise AssertionError(f"unexpected node {node!r}")


def _wrap(node: Node, brackets: bool) -> str:
    text = _render(node)
    return f"({text})" if brackets else text

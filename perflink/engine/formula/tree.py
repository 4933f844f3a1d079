"""The tree a formula parses into, and the binding powers that the parser and ``explain`` share.

``position`` points at the node's token (a binary node's operator, a call's function name); it is left out of
equality, so trees parsed from differently spaced texts compare equal.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal


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
OR_BP: Final = 1
AND_BP: Final = 2
NOT_BP: Final = 3
COMPARISON_BP: Final = 4
SUM_BP: Final = 5
PRODUCT_BP: Final = 6
NEGATION_BP: Final = 7
ATOM_BP: Final = 8

COMPARISONS: Final = frozenset({"<", "<=", ">", ">=", "==", "!="})
ARITHMETIC: Final = frozenset({"+", "-", "*", "/"})
BINARY_BP: Final[Mapping[str, int]] = {
    "or": OR_BP,
    "and": AND_BP,
    **dict.fromkeys(COMPARISONS, COMPARISON_BP),
    "+": SUM_BP,
    "-": SUM_BP,
    "*": PRODUCT_BP,
    "/": PRODUCT_BP,
}


def children(node: Node) -> tuple[Node, ...]:
    """The node's operands or arguments, left to right."""
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, Call):
        return node.args
    return ()


def walk(root: Node) -> Iterator[Node]:
    """Every node of the tree, root first (iterative, so a deep tree cannot exhaust the stack)."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(children(node)))

"""A set of formulas checked together: every name known, no cycles, an evaluation order."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from perflink.engine.formula.errors import FormulaError, at
from perflink.engine.formula.tree import Formula, Name, walk


def _first_positions(formula: Formula) -> dict[str, int]:
    """Each referenced name → where it first occurs, in order of occurrence."""
    positions: dict[str, int] = {}
    for node in sorted((n for n in walk(formula.root) if isinstance(n, Name)), key=lambda n: n.position):
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
                    f"formula {code!r}: unknown name {name!r} {at(position)}", position, code=code
                )
    return _evaluation_order(
        {
            code: [(name, offset) for name, offset in refs.items() if name in formulas]
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
                    f"cycle {cycle}: formula {path[-1]!r} refers to {name!r} {at(position)}",
                    position,
                    code=path[-1],
                )
            path.append(name)
            pending.append(iter(dependencies[name]))
    return order

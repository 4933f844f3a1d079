"""The one error of the formula language, and how a message points at a spot in the text."""

from __future__ import annotations


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


def at(position: int) -> str:
    return f"at column {position + 1}"

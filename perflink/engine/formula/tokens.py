"""The tokenizer: formula text into numbers, names, keywords and symbols, each with its position."""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from perflink.engine.formula.errors import FormulaError, at

# Words read as keywords, never names; function names are read as names and known to the parser.
KEYWORDS: Final = frozenset({"and", "or", "not", "true", "false"})

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
class Token:
    kind: _TokenKind
    text: str
    position: int


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in _SPACE:
            i += 1
        elif ch in _DIGITS:
            end = _scan_number(text, i)
            tokens.append(Token("number", text[i:end], i))
            i = end
        elif ch in _NAME_START:
            end = i + 1
            while end < n and text[end] in _NAME_CHARS:
                end += 1
            word = text[i:end]
            tokens.append(Token("keyword" if word in KEYWORDS else "name", word, i))
            i = end
        elif text.startswith(_TWO_CHAR_SYMBOLS, i):
            tokens.append(Token("symbol", text[i : i + 2], i))
            i += 2
        elif ch in _ONE_CHAR_SYMBOLS:
            tokens.append(Token("symbol", ch, i))
            i += 1
        else:
            raise FormulaError(f"unexpected character {ch!r} {at(i)}{_hint(text, i)}", i)
    tokens.append(Token("end", "", n))
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
            raise FormulaError(f"expected a digit after '.' {at(i)}", i)
        while i < n and text[i] in _DIGITS:
            i += 1
    if i < n and text[i] in "eE":
        i += 1
        if i < n and text[i] in "+-":
            i += 1
        if i >= n or text[i] not in _DIGITS:
            raise FormulaError(f"expected the digits of an exponent {at(i)}", i)
        while i < n and text[i] in _DIGITS:
            i += 1
    if i < n and text[i] in _NAME_CHARS | {"."}:
        raise FormulaError(f"expected an operator after the number {at(i)}, found {text[i]!r}", i)
    return i


def describe_token(token: Token) -> str:
    if token.kind == "end":
        return "the end of the formula"
    if token.kind == "number":
        return f"the number {token.text}"
    if token.kind == "name":
        return f"the name {token.text!r}"
    return repr(token.text)

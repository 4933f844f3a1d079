"""The incremental cursor: the highest `cursor_field` value stored so far, and how it may move."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from perflink.ingest.connectors.fetch import FetchError, field_value, note
from perflink.ingest.models import PullRun

_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def cursor_key(value: Any) -> tuple[int, Any]:
    """A sort key for cursor values: numbers as numbers, ISO dates and times as instants, else text."""
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return (0, Decimal(value))
    text = str(value).strip()
    if _NUMBER.match(text):
        return (0, Decimal(text))
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return (2, text)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return (1, moment)


@dataclass
class CursorTracker:
    """Where the cursor may move as pages are stored.

    Moving the cursor to a page's maximum is safe only when the source returns records in cursor
    order, which the connector contract asks for. If a page holds a value below an earlier page's
    maximum, the order is broken: from then on the cursor moves only when the whole run completes."""

    field: str
    value: str
    held: bool = False
    run_max: tuple[tuple[int, Any], str] | None = None

    def page_values(self, records: list[dict[str, Any]]) -> list[tuple[tuple[int, Any], str]]:
        out = []
        for r in records:
            v = field_value(r, self.field)
            if v is None or v == "" or isinstance(v, dict | list | bool):
                continue
            out.append((cursor_key(v), str(v)))
        return out

    def after_page(self, records: list[dict[str, Any]], run: PullRun) -> str:
        """The cursor to store with this page."""
        if not self.field:
            return self.value
        values = self.page_values(records)
        if values:
            low = min(values, key=lambda kv: kv[0])
            high = max(values, key=lambda kv: kv[0])
            if self.run_max is not None and low[0] < self.run_max[0] and not self.held:
                self.held = True
                note(
                    run,
                    f"records are not sorted by {self.field!r} across pages: the cursor now moves only "
                    "when the run completes (turn the connector's cursor_sorted off if the source never "
                    "sorts)",
                )
            if self.run_max is None or high[0] > self.run_max[0]:
                self.run_max = high
        if not self.held:
            self.value = self._later(self.value)
        return self.value

    def at_end(self) -> str:
        self.value = self._later(self.value)
        return self.value

    def _later(self, current: str) -> str:
        if self.run_max is None:
            return current
        key, text = self.run_max
        if len(text) > 200:
            raise FetchError(
                f"the cursor value {text[:40]!r}… is longer than 200 characters", retryable=False
            )
        if current and cursor_key(current) >= key:
            return current
        return text

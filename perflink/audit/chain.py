"""The hash chain: what is hashed, and how a chain is verified."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64
HASHED_FIELDS = (
    "seq",
    "at",
    "actor_kind",
    "actor_id",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "before",
    "after",
    "request_id",
    "ip",
    "prev_hash",
)


def _canonical_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(tenant_id: int, fields: dict[str, Any]) -> str:
    body = {name: fields[name] for name in HASHED_FIELDS}
    body["at"] = _canonical_time(body["at"])
    body["tenant_id"] = tenant_id
    payload = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainProblem:
    seq: int | None
    event_id: int | None
    reason: str

    def __str__(self) -> str:
        where = f"entry #{self.seq} (id {self.event_id})" if self.seq is not None else "chain head"
        return f"{where}: {self.reason}"


def verify_chain(
    tenant_id: int, events: Iterable[dict[str, Any]], head: tuple[int, str] | None
) -> ChainProblem | None:
    """Walk a tenant's events in sequence order; return the first problem, or None when intact."""
    prev = GENESIS
    expected = 1
    for ev in events:
        if ev["seq"] != expected:
            return ChainProblem(
                ev["seq"],
                ev["id"],
                f"sequence jumps from #{expected - 1} to #{ev['seq']}: entries were deleted or inserted",
            )
        if ev["prev_hash"] != prev:
            return ChainProblem(ev["seq"], ev["id"], "does not link to the previous entry's hash")
        if event_hash(tenant_id, ev) != ev["hash"]:
            return ChainProblem(ev["seq"], ev["id"], "content does not match its hash: the row was edited")
        prev = ev["hash"]
        expected += 1
    last_seq = expected - 1
    head_seq, head_hash = head if head else (0, GENESIS)
    if head_seq != last_seq or head_hash != prev:
        return ChainProblem(
            None,
            None,
            f"chain head says #{head_seq} but the chain ends at #{last_seq}: "
            "entries at the end were deleted or added outside the application",
        )
    return None

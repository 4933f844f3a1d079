"""API schemas of the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema

from perflink.core.schemas import IsoDate, SearchText


class EventListIn(Schema):
    q: SearchText = Field("", description="Part of the object's name, or an exact object id or request id.")
    action: SearchText = Field("", description="Actions starting with this, e.g. `org.unit`.")
    actor: SearchText = Field("", description="Part of the actor's name.")
    object_type: SearchText = Field("", description="e.g. `org.employee`.")
    date_from: IsoDate | None = None
    date_to: IsoDate | None = None


class EventOut(Schema):
    id: int
    seq: int = Field(description="Position in the tenant's hash chain (1, 2, 3, …).")
    at: datetime
    actor_kind: str
    actor_id: int | None
    actor_label: str
    action: str
    object_type: str
    object_id: str
    object_repr: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request_id: str
    ip: str
    prev_hash: str
    hash: str


class ChainVerifyOut(Schema):
    intact: bool
    problem: str | None = Field(description="The first problem found, or null when the chain is intact.")
    events: int = Field(description="How many events the tenant's chain holds.")

"""API schemas of accounts: who am I, and API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.utils import timezone
from ninja import Field, Schema
from pydantic import field_validator

from perflink.accounts.access import TOKEN_ACTIONS
from perflink.core.schemas import InSchema, IsoDateTime, name_text

# The actions a token may carry, published as an enum in the schema.
TokenAction = Literal[tuple(sorted(TOKEN_ACTIONS))]  # type: ignore[valid-type]
TokenName = name_text(100)


class MeOut(Schema):
    kind: Literal["user", "token"]
    id: int
    name: str
    tenant: str
    role: str | None
    actions: list[str]


class TokenOut(Schema):
    id: int
    name: str
    prefix: str = Field(description="The start of the secret, to recognise a token by; never the secret.")
    permissions: list[str]
    created_at: datetime
    created_by: str | None
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    is_active: bool

    @staticmethod
    def resolve_created_by(obj: object) -> str | None:
        user = getattr(obj, "created_by", None)
        return user.username if user is not None else None


class TokenCreateIn(InSchema):
    name: TokenName
    permissions: list[TokenAction] = Field(min_length=1, max_length=len(TOKEN_ACTIONS))
    expires_at: IsoDateTime | None = Field(
        default=None, description="When the token stops working; never when null."
    )

    @field_validator("permissions")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each permission at most once")
        return value

    @field_validator("expires_at")
    @classmethod
    def _in_future(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if timezone.is_naive(value):
            raise ValueError("give a time zone, e.g. 2026-12-31T00:00:00+08:00")
        if value <= timezone.now():
            raise ValueError("must be in the future")
        return value


class TokenCreatedOut(TokenOut):
    secret: str = Field(description="The bearer secret. Shown once: store it now.")

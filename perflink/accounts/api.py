"""API: who am I."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema

from perflink.accounts.access import ACTIONS, can

router = Router(tags=["accounts"])


class MeOut(Schema):
    kind: str
    id: int
    name: str
    tenant: str
    role: str | None
    actions: list[str]


@router.get("/me", response=MeOut, summary="The authenticated user or token")
def me(request: HttpRequest) -> MeOut:
    principal = request.principal  # type: ignore[attr-defined]
    is_token = principal.__class__.__name__ == "ApiToken"
    return MeOut(
        kind="token" if is_token else "user",
        id=principal.pk,
        name=principal.name if is_token else principal.username,
        tenant=principal.tenant.slug,
        role=None if is_token else principal.role,
        actions=[a for a in ACTIONS if can(principal, a)],
    )

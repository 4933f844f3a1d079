"""API: who am I, and the tenant's API tokens (managed by logged-in users only: a token cannot mint
tokens, because `token.manage` is never among the actions a token may carry)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router
from ninja.pagination import paginate
from ninja.responses import Status

from perflink.accounts.access import ACTIONS, can
from perflink.accounts.actions import do_create_token, do_revoke_token
from perflink.accounts.models import ApiToken
from perflink.accounts.schemas import MeOut, TokenCreatedOut, TokenCreateIn, TokenOut
from perflink.core.api import ANY_PRINCIPAL, Pagination, errors, principal, requires
from perflink.core.context import current_actor
from perflink.core.errors import NotFound

router = Router(tags=["accounts"])


def _get_token(token_id: int) -> ApiToken:
    # The default manager is scoped to the caller's tenant: another tenant's token is "not found".
    token = ApiToken.objects.select_related("created_by").filter(pk=token_id).first()
    if token is None:
        raise NotFound("token not found")
    return token


@router.get("/me", response={200: MeOut, **errors()}, summary="The authenticated user or token")
@requires(ANY_PRINCIPAL)
def me(request: HttpRequest) -> MeOut:
    who = principal(request)
    is_token = isinstance(who, ApiToken)
    return MeOut(
        kind="token" if is_token else "user",
        id=who.pk,
        name=who.name if is_token else who.username,
        tenant=who.tenant.slug,
        role=None if is_token else who.role,
        actions=[a for a in ACTIONS if can(who, a)],
    )


@router.get("/tokens", response={200: list[TokenOut], **errors()}, summary="List the tenant's API tokens")
@requires("token.manage")
@paginate(Pagination)
def list_tokens(request: HttpRequest) -> QuerySet[ApiToken]:
    return ApiToken.objects.select_related("created_by").order_by("-created_at", "-pk")


@router.post(
    "/tokens",
    response={201: TokenCreatedOut, **errors(400)},
    summary="Create a token (the secret is returned once)",
)
@requires("token.manage")
def create_token(request: HttpRequest, payload: TokenCreateIn) -> Status:
    token, secret = do_create_token(
        name=payload.name,
        permissions=list(payload.permissions),
        expires_at=payload.expires_at,
        created_by=principal(request),
        actor=current_actor(),
    )
    token.secret = secret  # type: ignore[attr-defined]  # answered once, never stored
    return Status(201, token)


@router.post("/tokens/{token_id}/revoke", response={200: TokenOut, **errors(404)}, summary="Revoke a token")
@requires("token.manage")
def revoke_token(request: HttpRequest, token_id: int) -> ApiToken:
    return do_revoke_token(_get_token(token_id), actor=current_actor())

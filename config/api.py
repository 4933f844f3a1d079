"""The REST API: django-ninja under /api/v1, session or bearer-token auth, JSON errors with a stable code."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import APIKeyCookie, HttpBearer

from perflink.accounts.actions import authenticate_token
from perflink.core.context import Actor, bind
from perflink.core.errors import DomainError


class TokenAuth(HttpBearer):
    """`Authorization: Bearer pl_…`: the tenant and actor come from the token, never from the request."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        api_token = authenticate_token(token)
        if api_token is None:
            return None
        bind(api_token.tenant, Actor("token", api_token.pk, f"token:{api_token.name}"))
        request.principal = api_token  # type: ignore[attr-defined]
        return api_token


class SessionAuth(APIKeyCookie):
    """The browser's session (CSRF-checked for unsafe methods)."""

    param_name = "sessionid"

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = request.user
        if user.is_authenticated and user.role != "integration":
            request.principal = user  # type: ignore[attr-defined]
            return user
        return None


api = NinjaAPI(
    title="Perflink API",
    version="1.0.0",
    description="联动绩效 Perflink REST API. Authenticate with `Authorization: Bearer <token>` "
    "(tokens are created under Settings → API tokens) or with a browser session.",
    urls_namespace="api",
    auth=[TokenAuth(), SessionAuth()],
    docs_url="/docs",
)


def error_body(code: str, message: str, field: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": message, "field": field, **extra}


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return api.create_response(request, exc.as_dict(), status=exc.status)


@api.exception_handler(NinjaValidationError)
def on_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = [
        {"field": ".".join(str(p) for p in e.get("loc", [])[1:]) or None, "message": e.get("msg", "invalid")}
        for e in exc.errors
    ]
    first = errors[0] if errors else {"field": None, "message": "invalid request"}
    body = error_body("validation_error", first["message"], first["field"], errors=errors)
    return api.create_response(request, body, status=422)


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    body = error_body("unauthenticated", "missing, invalid, expired or revoked credentials")
    return api.create_response(request, body, status=401)


@api.exception_handler(Http404)
def on_404(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, error_body("not_found", "not found"), status=404)


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return api.create_response(request, error_body("http_error", str(exc)), status=exc.status_code)


def _register_routers() -> None:
    from perflink.accounts.api import router as accounts_router

    api.add_router("/", accounts_router)


_register_routers()

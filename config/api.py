"""The REST API: django-ninja under /api/v1, session or bearer-token auth, JSON errors with a stable code.

Every response that is not a success is `{"code", "message", "field"}` (422 adds `errors`, the full
list): domain errors, validation, authentication, CSRF, unknown paths (404), wrong methods (405) and
unexpected failures (500) alike, so a client never has to parse an HTML error page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import BadRequest, SuspiciousOperation
from django.core.signals import got_request_exception
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.urls import URLPattern, re_path
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.renderers import JSONRenderer
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from perflink.accounts.actions import authenticate_token
from perflink.core.context import Actor, bind, current_request_id
from perflink.core.errors import DomainError, PermissionDeniedError

logger = logging.getLogger("perflink.api")


def error_body(code: str, message: str, field: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": message, "field": field, **extra}


class TokenAuth(HttpBearer):
    """`Authorization: Bearer pl_…`: the tenant and actor come from the token, never from the request.

    A bearer header that does not name an active token is refused outright (401), even when the
    request also carries a session cookie: a client that sent a token meant to be that token."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        api_token = authenticate_token(token)
        if api_token is None:
            raise AuthenticationError()
        bind(api_token.tenant, Actor("token", api_token.pk, f"token:{api_token.name}"))
        request.principal = api_token  # type: ignore[attr-defined]
        return api_token


class SessionAuth(APIKeyCookie):
    """The browser's session. Unsafe methods must carry the CSRF token (header `X-CSRFToken`).

    The CSRF check runs only for a logged-in session: a request without one is simply not
    authenticated by this class (401), rather than refused for a missing CSRF token."""

    param_name = settings.SESSION_COOKIE_NAME

    def __call__(self, request: HttpRequest) -> Any:
        user = request.user
        if not user.is_authenticated or user.role == "integration":
            return None
        exempt = getattr(request, "_ninja_csrf_exempt", False)
        # Read (and cache) the body first: Django's CSRF check looks for a form field, and for a
        # multipart request that would consume the stream the JSON parser reads afterwards.
        _ = request.body
        if self.csrf and not exempt and check_csrf(request) is not None:
            raise PermissionDeniedError(
                "CSRF check failed: send the csrftoken cookie's value as X-CSRFToken", code="csrf_failed"
            )
        request.principal = user  # type: ignore[attr-defined]
        return user

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:  # pragma: no cover - see __call__
        return None


def _json_method_not_allowed(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Ninja answers a wrong method with an HTML 405; keep its Allow header, give it the JSON body."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and not response.get("Content-Type", "").startswith(
            "application/json"
        ):
            allowed = response.get("Allow", "")
            body = error_body(
                "method_not_allowed", f"{request.method} is not allowed here; allowed: {allowed}"
            )
            response = JsonResponse(body, status=405)
            response["Allow"] = allowed
        return response

    return wrapped


def _unknown_path(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    message = f"no API endpoint at {request.path}; the endpoints are listed at /api/v1/docs"
    return JsonResponse(error_body("not_found", message), status=404)


_unknown_path.csrf_exempt = True  # type: ignore[attr-defined]


class UnicodeJSONRenderer(JSONRenderer):
    """UTF-8 JSON: Chinese names stay readable instead of turning into \\u escapes."""

    json_dumps_params = {"ensure_ascii": False}


class PerflinkAPI(NinjaAPI):
    @property
    def urls(self) -> tuple[list[Any], str, str]:
        patterns, app_name, namespace = super().urls
        for pattern in patterns:
            if isinstance(pattern, URLPattern):
                if pattern.name == "api-root":  # ninja's root raises Http404 outside its own handlers
                    pattern.callback = _unknown_path
                else:
                    pattern.callback = _json_method_not_allowed(pattern.callback)
        # Last: anything under /api/v1/ that no route matched is a JSON 404, not Django's HTML page.
        return [*patterns, re_path(r"^.*$", _unknown_path, name="unknown-path")], app_name, namespace


api = PerflinkAPI(
    title="Perflink API",
    version="1.0.0",
    description="联动绩效 Perflink REST API. Authenticate with `Authorization: Bearer <token>` "
    "(tokens are created under Settings → API tokens) or with a browser session (unsafe methods then "
    "need the `X-CSRFToken` header). Errors are `{code, message, field}`; see docs/api.md.",
    urls_namespace="api",
    auth=[TokenAuth(), SessionAuth()],
    renderer=UnicodeJSONRenderer(),
    docs_url="/docs",
)


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return api.create_response(request, exc.as_dict(), status=exc.status)


def _field_of(loc: list[Any] | tuple[Any, ...]) -> str | None:
    """Ninja's error location is (source, [param name,] field, …); the client knows only the field."""
    parts = [str(p) for p in loc[1:]]
    if len(parts) > 1 and parts[0] in {"payload", "filters", "ninja_pagination"}:
        parts = parts[1:]
    return ".".join(parts) or None


@api.exception_handler(NinjaValidationError)
def on_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = [{"field": _field_of(e.get("loc", ())), "message": e.get("msg", "invalid")} for e in exc.errors]
    first = errors[0] if errors else {"field": None, "message": "invalid request"}
    body = error_body("validation_error", first["message"], first["field"], errors=errors)
    return api.create_response(request, body, status=422)


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    body = error_body("unauthenticated", "missing, invalid, expired or revoked credentials")
    response = api.create_response(request, body, status=401)
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(Http404)
def on_404(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, error_body("not_found", "not found"), status=404)


HTTP_ERROR_CODES = {400: "bad_request", 403: "permission_denied", 404: "not_found", 429: "rate_limited"}


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    """Ninja's own errors, e.g. 400 for a body that is not JSON."""
    code = HTTP_ERROR_CODES.get(exc.status_code, "http_error")
    return api.create_response(request, error_body(code, exc.message), status=exc.status_code)


@api.exception_handler(SuspiciousOperation)
def on_bad_request(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
    """A body too large, a malformed multipart body and the like: the client's fault (400)."""
    return api.create_response(request, error_body("bad_request", str(exc) or "bad request"), status=400)


@api.exception_handler(BadRequest)
@api.exception_handler(MultiPartParserError)
def on_unreadable_body(request: HttpRequest, exc: Exception) -> HttpResponse:
    return api.create_response(request, error_body("bad_request", str(exc) or "bad request"), status=400)


@api.exception_handler(Exception)
def on_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    """A bug: log it, tell error reporters (and the test client) through Django's signal, answer JSON."""
    logger.exception("unhandled error in %s %s", request.method, request.path)
    got_request_exception.send(sender=None, request=request)
    body = error_body("server_error", "internal error; quote the request id", request_id=current_request_id())
    return api.create_response(request, body, status=500)


def _register_routers() -> None:
    from perflink.accounts.api import router as accounts_router
    from perflink.analytics.api import router as analytics_router
    from perflink.audit.api import router as audit_router
    from perflink.collab.api import router as collab_router
    from perflink.collab.survey_api import router as survey_router
    from perflink.incentives.api import router as incentives_router
    from perflink.ingest.api import router as ingest_router
    from perflink.metrics.api import router as metrics_router
    from perflink.org.api import router as org_router

    api.add_router("/", accounts_router)
    api.add_router("/", org_router)
    api.add_router("/", audit_router)
    api.add_router("/", ingest_router)
    api.add_router("/", metrics_router)
    api.add_router("/", incentives_router)
    api.add_router("/", collab_router)
    api.add_router("/", survey_router)
    api.add_router("/", analytics_router)


_register_routers()

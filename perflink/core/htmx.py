"""htmx helpers: one view serves the whole page and its partial (NetBox's htmx_partial)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.timesince import timesince
from django.utils.translation import gettext


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def htmx_partial(request: HttpRequest) -> bool:
    """True when htmx asks for a fragment (not a boosted full-page navigation)."""
    return is_htmx(request) and request.headers.get("HX-Boosted") != "true"


def is_partial(request: HttpRequest) -> bool:
    return htmx_partial(request) and request.headers.get("HX-History-Restore-Request") != "true"


def render_page(
    request: HttpRequest, full: str, partial: str, ctx: dict[str, Any], status: int = 200
) -> HttpResponse:
    fragment = is_partial(request)
    response = render(request, partial if fragment else full, {**ctx, "is_partial": fragment}, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


def hx_redirect(request: HttpRequest, url: str) -> HttpResponse:
    """A redirect that htmx follows as a whole-page navigation."""
    if htmx_partial(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


def ago(moment: datetime | None) -> str:
    """How long ago, in words ("just now" under a minute, where timesince would say "0 minutes")."""
    if moment is None:
        return ""
    if timezone.now() - moment < timedelta(minutes=1):
        return gettext("just now")
    return gettext("%(t)s ago") % {"t": timesince(moment)}

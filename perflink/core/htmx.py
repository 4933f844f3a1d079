"""htmx helpers: one view serves the whole page and its partial (NetBox's htmx_partial)."""

from __future__ import annotations

from django.http import HttpRequest


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def htmx_partial(request: HttpRequest) -> bool:
    """True when htmx asks for a fragment (not a boosted full-page navigation)."""
    return is_htmx(request) and request.headers.get("HX-Boosted") != "true"

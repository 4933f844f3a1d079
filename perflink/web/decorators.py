"""The one way a page declares who may open it.

`@page("org.view")` requires a login, checks the action through `perflink.accounts.access`, turns
NotFound into 404 and PermissionDeniedError into 403, and records the action on the view so the
route-discovering tests (permission matrix, two-tenant isolation) know what each page needs.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from perflink.accounts.access import ACTIONS, can
from perflink.core.errors import NotFound, PermissionDeniedError


def page(action: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    if action not in ACTIONS:
        raise KeyError(f"unknown action {action!r}")

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not can(request.user, action):
                return render(request, "web/403.html", {"action": ACTIONS[action]}, status=403)
            try:
                return view(request, *args, **kwargs)
            except NotFound as exc:
                raise Http404(str(exc)) from exc
            except PermissionDeniedError:
                return render(request, "web/403.html", {"action": ACTIONS[action]}, status=403)

        wrapped.required_action = action  # type: ignore[attr-defined]
        return wrapped

    return decorate


def public(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Mark a view as open without login (login page, language switch, health check)."""
    view.required_action = None  # type: ignore[attr-defined]
    return view

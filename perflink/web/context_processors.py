"""What every page's shell needs: the navigation (filtered by permission) and the tenant."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from perflink.web.navigation import navigation_for


def shell(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"nav": navigation_for(request), "tenant": user.tenant}

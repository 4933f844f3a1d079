"""Tenant resolution: the tenant comes from the authenticated user (or, in the API, the token),
never from the URL or the body."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from perflink.core.context import Actor, bind, request_scope


class TenantContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with request_scope():
            user = request.user
            if user.is_authenticated:
                bind(user.tenant, Actor("user", user.pk, user.username))
            return self.get_response(request)

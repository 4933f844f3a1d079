"""Helpers every API router uses: the permission guard, pagination, error responses, reference lookups.

`@requires("org.view")` both enforces the action (through `perflink.accounts.access.require`) and
publishes it in the operation's OpenAPI entry as `x-required-action`, so the declared and the checked
permission cannot drift apart, and the route-discovering tests can read every operation's action.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.http import HttpRequest
from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination
from ninja.utils import contribute_operation_callback

from perflink.core.errors import NotFound
from perflink.core.schemas import ErrorOut

REQUIRED_ACTION_KEY = "x-required-action"
# Operations open to any authenticated principal (user or token) declare this instead of an action.
ANY_PRINCIPAL = None

F = TypeVar("F", bound=Callable[..., Any])


def _access() -> Any:
    # The permission rules live in the accounts app; core looks them up at run time rather than
    # importing a domain app (core sits below the apps, and is type-checked on its own).
    return importlib.import_module("perflink.accounts.access")


def principal(request: HttpRequest) -> Any:
    """The authenticated user or API token (set by the API's auth classes)."""
    return request.principal


def requires(action: str | None) -> Callable[[F], F]:
    """Guard an operation with `action` (None: any authenticated principal) and declare it in OpenAPI."""
    if action is not None and action not in _access().ACTIONS:
        raise KeyError(f"unknown action {action!r}; add it to perflink.accounts.access.ACTIONS")

    def decorate(func: F) -> F:
        @wraps(func)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if action is not None:
                _access().require(principal(request), action)
            return func(request, *args, **kwargs)

        def declare(operation: Any) -> None:
            operation.openapi_extra = {**(operation.openapi_extra or {}), REQUIRED_ACTION_KEY: action}

        # Ninja resolves string annotations in the wrapper's module; hand it the resolved signature.
        guarded.__signature__ = inspect.signature(func, eval_str=True)  # type: ignore[attr-defined]
        guarded.required_action = action  # type: ignore[attr-defined]
        contribute_operation_callback(guarded, declare)
        return guarded  # type: ignore[return-value]

    return decorate


def errors(*statuses: int) -> dict[int, type[ErrorOut]]:
    """The documented error responses: 401, 403 and 422 always, plus the given ones (404, 409)."""
    return dict.fromkeys(sorted({401, 403, 422, *statuses}), ErrorOut)


class Pagination(LimitOffsetPagination):
    """limit/offset pagination with a bounded offset (a huge offset is a client error, not a 500)."""

    class Input(Schema):
        limit: int = Field(50, ge=1, le=500, description="How many items to return (at most 500).")
        offset: int = Field(0, ge=0, le=10_000_000, description="How many items to skip.")


def lookup[T](getter: Callable[..., T], owner: Any, object_id: int | None, *, field: str) -> T | None:
    """Resolve an id sent in a body or query string through a scoped selector; a missing or foreign
    id is a 404 naming the field, exactly like an unknown id in the path."""
    if object_id is None:
        return None
    try:
        return getter(owner, object_id)
    except NotFound as exc:
        raise NotFound(exc.message, field=field) from exc

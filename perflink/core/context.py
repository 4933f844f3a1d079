"""Request context held in ContextVars: the current tenant, actor and request id.

Tenant-owned managers read the tenant from here and *refuse* to run when it is missing (see
`perflink.core.models.TenantManager`), so a forgotten scope fails loudly instead of leaking rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Actor:
    """Who is acting: a user, an API token, or the system (commands, jobs)."""

    kind: str  # "user" | "token" | "system"
    id: int | None
    label: str


SYSTEM = Actor(kind="system", id=None, label="system")

_tenant: ContextVar[Any | None] = ContextVar("perflink_tenant", default=None)
_actor: ContextVar[Actor | None] = ContextVar("perflink_actor", default=None)
_request_id: ContextVar[str | None] = ContextVar("perflink_request_id", default=None)
_ip: ContextVar[str | None] = ContextVar("perflink_ip", default=None)
_unscoped: ContextVar[str | None] = ContextVar("perflink_unscoped", default=None)


def current_tenant() -> Any | None:
    return _tenant.get()


def current_actor() -> Actor | None:
    return _actor.get()


def current_request_id() -> str | None:
    return _request_id.get()


def current_ip() -> str | None:
    return _ip.get()


def unscoped_reason() -> str | None:
    return _unscoped.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


@contextmanager
def tenant_context(tenant: Any, actor: Actor | None = None) -> Iterator[Any]:
    """Run a block as `tenant` (and optionally `actor`); restores the previous context afterwards."""
    t_token = _tenant.set(tenant)
    a_token = _actor.set(actor) if actor is not None else None
    try:
        yield tenant
    finally:
        _tenant.reset(t_token)
        if a_token is not None:
            _actor.reset(a_token)


@contextmanager
def actor_context(actor: Actor) -> Iterator[Actor]:
    token = _actor.set(actor)
    try:
        yield actor
    finally:
        _actor.reset(token)


@contextmanager
def request_context(request_id: str | None, ip: str | None = None) -> Iterator[str]:
    rid = request_id or new_request_id()
    r_token = _request_id.set(rid)
    i_token = _ip.set(ip)
    try:
        yield rid
    finally:
        _request_id.reset(r_token)
        _ip.reset(i_token)


@contextmanager
def unscoped(reason: str) -> Iterator[None]:
    """Explicitly allow cross-tenant queries (authentication, maintenance commands). Name the reason."""
    if not reason:
        raise ValueError("unscoped() needs a reason")
    token = _unscoped.set(reason)
    try:
        yield
    finally:
        _unscoped.reset(token)


@contextmanager
def request_scope() -> Iterator[None]:
    """A fresh tenant/actor scope for one request; `bind()` inside it is undone when it closes."""
    t_token = _tenant.set(None)
    a_token = _actor.set(None)
    try:
        yield
    finally:
        _tenant.reset(t_token)
        _actor.reset(a_token)


def bind(tenant: Any, actor: Actor) -> None:
    """Set tenant and actor for the rest of the current `request_scope()` (authentication does this)."""
    _tenant.set(tenant)
    _actor.set(actor)


def reset_all() -> None:
    """Clear every context variable (used by tests between cases)."""
    for var in (_tenant, _actor, _request_id, _ip, _unscoped):
        var.set(None)

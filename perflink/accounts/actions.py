"""Writes for users and API tokens. Each action is one transaction with its audit event inside."""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from perflink.accounts.access import TOKEN_ACTIONS
from perflink.accounts.choices import Role
from perflink.accounts.models import ApiToken, User
from perflink.audit.actions import record_event, snapshot
from perflink.core.context import Actor, tenant_context, unscoped
from perflink.core.errors import Conflict, NotFound, ValidationFailed

USER_AUDIT_FIELDS = [
    "username",
    "first_name",
    "last_name",
    "email",
    "role",
    "employee",
    "scope_unit",
    "is_active",
]


def do_create_user(
    *,
    username: str,
    password: str | None,
    role: str,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    employee: Any = None,
    scope_unit: Any = None,
    check_password: bool = True,
    actor: Actor,
) -> User:
    if role not in Role.values:
        raise ValidationFailed(f"unknown role {role!r}; one of {', '.join(Role.values)}", field="role")
    if role == Role.UNIT_HEAD and scope_unit is None:
        raise ValidationFailed("a unit head needs the unit whose data they see", field="scope_unit")
    with unscoped("usernames are unique across tenants"):
        if User.objects.filter(username=username).exists():
            raise Conflict(f"username {username!r} is taken", field="username", code="username_taken")
    user = User(
        username=username,
        role=role,
        first_name=first_name,
        last_name=last_name,
        email=email,
        employee=employee,
        scope_unit=scope_unit,
    )
    # ``password=None`` makes an account that cannot sign in (a unit head who only receives notifications).
    if check_password and password is not None:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ValidationFailed(" ".join(exc.messages), field="password") from exc
    user.set_password(password)
    with transaction.atomic():
        user.save()
        record_event("user.create", user, after=snapshot(user, USER_AUDIT_FIELDS))
    return user


class LoginOutcome(enum.Enum):
    OK = "ok"
    FAILED = "failed"
    LOCKED = "locked"


@dataclass(frozen=True)
class LoginResult:
    outcome: LoginOutcome
    user: User | None = None
    locked_until: Any = None


def do_attempt_login(request: Any, *, username: str, password: str) -> LoginResult:
    """Check a password login. After PERFLINK_LOCKOUT_THRESHOLD failures the account locks for
    PERFLINK_LOCKOUT_MINUTES; a locked account is refused even with the right password."""
    now = timezone.now()
    with unscoped("login lookup"):
        known = User.objects.select_related("tenant").filter(username=username).first()
    if known is not None and known.locked_until and known.locked_until > now:
        return LoginResult(LoginOutcome.LOCKED, locked_until=known.locked_until)
    user = authenticate(request, username=username, password=password)
    if user is None:
        if known is not None:
            locked_until = _register_failure(known, now)
            if locked_until is not None:
                return LoginResult(LoginOutcome.LOCKED, locked_until=locked_until)
        return LoginResult(LoginOutcome.FAILED)
    with tenant_context(user.tenant, Actor("user", user.pk, user.username)), transaction.atomic():
        User.objects.filter(pk=user.pk).update(failed_logins=0, locked_until=None, last_login=now)
        record_event("user.login", user)
    return LoginResult(LoginOutcome.OK, user=user)


def _register_failure(user: User, now: Any) -> Any:
    """Count a failed login; returns the lock's end when this failure locked the account."""
    with tenant_context(user.tenant, Actor("user", user.pk, user.username)), transaction.atomic():
        User.objects.filter(pk=user.pk).update(failed_logins=F("failed_logins") + 1)
        failures = User.objects.values_list("failed_logins", flat=True).get(pk=user.pk)
        record_event("user.login_failed", user, after={"failed_logins": failures})
        if failures >= settings.PERFLINK_LOCKOUT_THRESHOLD:
            until = now + timedelta(minutes=settings.PERFLINK_LOCKOUT_MINUTES)
            User.objects.filter(pk=user.pk).update(locked_until=until, failed_logins=0)
            record_event("user.locked", user, after={"locked_until": until.isoformat()})
            return until
    return None


def do_unlock_user(user: User, *, actor: Actor) -> None:
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(failed_logins=0, locked_until=None)
        record_event("user.unlock", user)


# --- API tokens ----------------------------------------------------------------------------------


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def do_create_token(
    *, name: str, permissions: list[str], created_by: User | None, actor: Actor, expires_at: Any = None
) -> tuple[ApiToken, str]:
    """Create a token; returns it and the secret, which is shown once and never stored."""
    name = name.strip()
    if not name:
        raise ValidationFailed("a token needs a name", field="name")
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed("the expiry must be in the future", field="expires_at")
    unknown = sorted(set(permissions) - TOKEN_ACTIONS)
    if unknown or not permissions:
        raise ValidationFailed(
            f"permissions must be a non-empty subset of {sorted(TOKEN_ACTIONS)}; not allowed: {unknown}",
            field="permissions",
        )
    prefix = secrets.token_hex(4)
    secret = f"pl_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken(
        name=name,
        prefix=prefix,
        key_hash=hash_token(secret),
        permissions=sorted(permissions),
        created_by=created_by,
        expires_at=expires_at,
    )
    with transaction.atomic():
        token.save()
        record_event(
            "token.create", token, after={"name": name, "prefix": prefix, "permissions": token.permissions}
        )
    return token, secret


def do_revoke_token(token: ApiToken, *, actor: Actor) -> ApiToken:
    if token.revoked_at is not None:
        return token
    with transaction.atomic():
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record_event(
            "token.revoke", token, before={"revoked_at": None}, after={"revoked_at": token.revoked_at}
        )
    return token


def authenticate_token(secret: str) -> ApiToken | None:
    """The active token with this secret, or None. Records the last-used time (at most once a minute)."""
    if not secret.startswith("pl_"):
        return None
    with unscoped("token authentication"):
        token = ApiToken.objects.select_related("tenant").filter(key_hash=hash_token(secret)).first()
        if token is None or not token.is_active or not token.tenant.is_active:
            return None
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
    return token


def get_user_in_tenant(user_id: int) -> User:
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise NotFound("user not found")
    return user

"""Passwords, lock-out, sessions and tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.test import Client
from django.utils import timezone

from perflink.accounts.actions import (
    LoginOutcome,
    authenticate_token,
    do_attempt_login,
    do_create_token,
    do_create_user,
    do_revoke_token,
    do_unlock_user,
)
from perflink.accounts.models import ApiToken, User
from perflink.audit.models import AuditEvent
from perflink.core.context import SYSTEM, tenant_context, unscoped
from perflink.core.errors import Conflict, ValidationFailed
from tests.factories import PASSWORD, World


def _user(world: World, role: str = "performance_admin") -> User:
    with unscoped("test"):
        return User.objects.get(pk=world.users[role].pk)


def test_passwords_are_hashed_with_argon2_in_real_settings() -> None:
    from config.settings import base

    assert base.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    hasher = Argon2PasswordHasher()
    hashed = hasher.encode("Correct-Horse-42", hasher.salt())
    assert hashed.startswith("argon2$argon2id$")
    assert hasher.verify("Correct-Horse-42", hashed) and not hasher.verify("wrong", hashed)


def test_given_five_wrong_passwords_then_the_account_locks_even_for_the_right_one(world: World, rf) -> None:
    username = world.users["performance_admin"].username
    for _ in range(4):
        assert (
            do_attempt_login(rf.post("/"), username=username, password="wrong").outcome is LoginOutcome.FAILED
        )
    result = do_attempt_login(rf.post("/"), username=username, password="wrong")
    assert result.outcome is LoginOutcome.LOCKED
    assert do_attempt_login(rf.post("/"), username=username, password=PASSWORD).outcome is LoginOutcome.LOCKED
    with tenant_context(world.tenant):
        actions = list(
            AuditEvent.objects.filter(object_id=str(world.users["performance_admin"].pk)).values_list(
                "action", flat=True
            )
        )
    assert actions.count("user.login_failed") == 5 and "user.locked" in actions


def test_given_a_locked_account_when_unlocked_or_expired_then_login_works(world: World, rf) -> None:
    user = _user(world)
    username = user.username
    for _ in range(5):
        do_attempt_login(rf.post("/"), username=username, password="wrong")
    with tenant_context(world.tenant):
        do_unlock_user(user, actor=SYSTEM)
    assert do_attempt_login(rf.post("/"), username=username, password=PASSWORD).outcome is LoginOutcome.OK
    for _ in range(5):
        do_attempt_login(rf.post("/"), username=username, password="wrong")
    with unscoped("test"):
        User.objects.filter(pk=user.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    assert do_attempt_login(rf.post("/"), username=username, password=PASSWORD).outcome is LoginOutcome.OK


def test_success_resets_the_failure_count(world: World, rf) -> None:
    username = world.users["auditor"].username
    for _ in range(4):
        do_attempt_login(rf.post("/"), username=username, password="wrong")
    assert do_attempt_login(rf.post("/"), username=username, password=PASSWORD).outcome is LoginOutcome.OK
    for _ in range(4):
        do_attempt_login(rf.post("/"), username=username, password="wrong")
    assert do_attempt_login(rf.post("/"), username=username, password=PASSWORD).outcome is LoginOutcome.OK


def test_login_page_locks_after_five_failures(world: World) -> None:
    client = Client()
    username = world.users["tenant_admin"].username
    for _ in range(5):
        response = client.post("/login/", {"username": username, "password": "nope"})
        assert response.status_code == 401
    response = client.post("/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 401
    assert "web:home" not in response.content.decode()
    assert client.get("/").status_code == 302  # still not logged in


def test_integration_accounts_cannot_log_in_to_the_web(world: World) -> None:
    client = Client()
    client.post("/login/", {"username": world.users["integration"].username, "password": PASSWORD})
    assert client.get("/").status_code == 302


def test_unknown_user_login_fails_without_revealing_anything(db, rf) -> None:
    assert do_attempt_login(rf.post("/"), username="ghost", password="x").outcome is LoginOutcome.FAILED


def test_weak_passwords_and_taken_usernames_are_refused(world: World) -> None:
    with tenant_context(world.tenant):
        with pytest.raises(ValidationFailed) as exc:
            do_create_user(username="new@alpha", password="123", role="employee", actor=SYSTEM)
        assert exc.value.field == "password"
        with pytest.raises(Conflict):
            do_create_user(username="auditor@alpha", password=PASSWORD, role="auditor", actor=SYSTEM)
        with pytest.raises(ValidationFailed) as exc:
            do_create_user(username="h@alpha", password=PASSWORD, role="unit_head", actor=SYSTEM)
        assert exc.value.field == "scope_unit"


def test_session_settings_enforce_idle_timeout_csrf_and_secure_cookies() -> None:
    from config.settings import base

    assert base.SESSION_SAVE_EVERY_REQUEST is True and base.SESSION_COOKIE_AGE <= 60 * 60
    assert "django.middleware.csrf.CsrfViewMiddleware" in base.MIDDLEWARE
    source = (base.BASE_DIR / "config" / "settings" / "production.py").read_text()
    for setting in ("SESSION_COOKIE_SECURE = True", "CSRF_COOKIE_SECURE = True", "SECURE_HSTS_SECONDS"):
        assert setting in source


def test_tokens_are_stored_hashed_scoped_and_revocable(world: World) -> None:
    with tenant_context(world.tenant):
        token, secret = do_create_token(
            name="理赔系统", permissions=["ingest.push"], created_by=None, actor=SYSTEM
        )
        assert secret not in token.key_hash and secret.startswith(f"pl_{token.prefix}_")
        with pytest.raises(ValidationFailed):
            do_create_token(name="x", permissions=["audit.view"], created_by=None, actor=SYSTEM)
    found = authenticate_token(secret)
    assert found is not None and found.tenant_id == world.tenant.pk and found.last_used_at is not None
    assert authenticate_token(secret + "x") is None
    assert authenticate_token("garbage") is None
    with tenant_context(world.tenant):
        do_revoke_token(token, actor=SYSTEM)
    assert authenticate_token(secret) is None
    with tenant_context(world.tenant):
        with pytest.raises(ValidationFailed, match="future"):
            do_create_token(
                name="old",
                permissions=["org.view"],
                created_by=None,
                actor=SYSTEM,
                expires_at=timezone.now() - timedelta(days=1),
            )
        expiring, secret2 = do_create_token(
            name="old",
            permissions=["org.view"],
            created_by=None,
            actor=SYSTEM,
            expires_at=timezone.now() + timedelta(days=1),
        )
        assert authenticate_token(secret2) is not None
        ApiToken.objects.filter(pk=expiring.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )  # time passes
        assert ApiToken.objects.count() == 2
    assert authenticate_token(secret2) is None

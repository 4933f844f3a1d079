"""The `perflink` console command: every sub-command has --help, bad input gets a clear error."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from perflink.accounts.models import User
from perflink.core.context import unscoped
from perflink.tenancy.models import Tenant
from tests.factories import World

CLI = [sys.executable, "-m", "perflink.cli"]


@pytest.mark.parametrize(
    "command",
    [
        "demo-data",
        "create-tenant",
        "create-user",
        "audit",
        "keys",
        "import",
        "pull",
        "collab",
        "notify",
        "bench",
    ],
)
def test_every_subcommand_has_help(command: str) -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    result = subprocess.run([*CLI, command, "--help"], capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: perflink")


def test_audit_verify_help() -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    result = subprocess.run(
        [*CLI, "audit", "verify", "--help"], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0 and "--tenant" in result.stdout


def test_create_tenant_and_user(db, monkeypatch, capsys) -> None:
    call_command("create_tenant", "acme", "--name", "某某人寿")
    assert Tenant.objects.get(slug="acme").name == "某某人寿"
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_tenant", "acme", "--name", "again")
    monkeypatch.setenv("PERFLINK_PASSWORD", "Very-Long-Passw0rd!")
    call_command("create_user", "--tenant", "acme", "--username", "boss@acme", "--role", "tenant_admin")
    with unscoped("test"):
        assert User.objects.get(username="boss@acme").role == "tenant_admin"
    assert "created tenant_admin boss@acme" in capsys.readouterr().out


def test_create_user_bad_input_is_named(world: World, monkeypatch) -> None:
    monkeypatch.setenv("PERFLINK_PASSWORD", "Very-Long-Passw0rd!")
    with pytest.raises(CommandError, match="no tenant 'nope'"):
        call_command("create_user", "--tenant", "nope", "--username", "x", "--role", "auditor")
    with pytest.raises(CommandError, match="no unit with code 'XX'"):
        call_command(
            "create_user", "--tenant", "alpha", "--username", "h@a", "--role", "unit_head", "--unit", "XX"
        )
    monkeypatch.setenv("PERFLINK_PASSWORD", "short")
    with pytest.raises(CommandError, match=r"\(password\)"):
        call_command("create_user", "--tenant", "alpha", "--username", "e@a", "--role", "auditor")

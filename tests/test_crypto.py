"""Sensitive fields are encrypted at rest with an authenticated cipher and a key id; shown masked."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.exceptions import InvalidTag
from django.core.management import call_command
from django.db import connection

from perflink.core import crypto
from perflink.core.context import tenant_context
from perflink.core.masking import mask_bank_account, mask_middle, mask_mobile
from perflink.org.models import Employee
from tests.factories import World


def _ring() -> crypto.Keyring:
    return crypto.Keyring("a", {"a": b"a" * 32, "b": b"b" * 32})


def test_roundtrip_and_key_id_in_the_stored_form() -> None:
    ring = _ring()
    stored = ring.encrypt("110101199001011234", "org_employee.id_number")
    assert stored.startswith("enc1:a:") and "110101199001011234" not in stored
    assert ring.decrypt(stored, "org_employee.id_number") == "110101199001011234"
    assert ring.encrypt("x", "t.c") != ring.encrypt("x", "t.c")  # fresh nonce each time


def test_ciphertext_is_bound_to_its_column_and_tamper_evident() -> None:
    ring = _ring()
    stored = ring.encrypt("13812345678", "org_employee.mobile")
    with pytest.raises(InvalidTag):
        ring.decrypt(stored, "org_employee.bank_account")
    raw = bytearray(base64.b64decode(stored.split(":", 2)[2]))
    raw[-1] ^= 1
    with pytest.raises(InvalidTag):
        ring.decrypt("enc1:a:" + base64.b64encode(bytes(raw)).decode(), "org_employee.mobile")


def test_old_keys_still_decrypt_after_rotation() -> None:
    old = crypto.Keyring("a", {"a": b"a" * 32}).encrypt("secret", "t.c")
    assert _ring().decrypt(old, "t.c") == "secret"
    with pytest.raises(crypto.KeyringError, match="no key with id"):
        crypto.Keyring("b", {"b": b"b" * 32}).decrypt(old, "t.c")


def test_masks() -> None:
    assert mask_middle("110101199001011234") == "1101**********1234"
    assert mask_mobile("13812345678") == "138****5678"
    assert mask_bank_account("6222021234567890123") == "6222***********0123"
    assert mask_middle("123") == "***"
    assert mask_middle("") == ""


def test_employee_sensitive_columns_hold_ciphertext_only(world: World) -> None:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT id_number, mobile, bank_account FROM org_employee WHERE id = %s", [world.staff.pk]
        )
        row = cur.fetchone()
    assert all(value.startswith("enc1:") for value in row)
    assert "110101199001011234" not in "".join(row)
    with tenant_context(world.tenant):
        assert Employee.objects.get(pk=world.staff.pk).id_number == "110101199001011234"


def test_keys_rotate_reencrypts_every_value(world: World, tmp_path, settings, monkeypatch) -> None:
    # Start from a key file that holds the key the rows were written with (the test key).
    settings.PERFLINK_KEY_FILE = tmp_path / "keys.json"
    settings.PERFLINK_KEY_FILE.write_text(
        json.dumps({"active": "test1", "keys": {"test1": base64.b64encode(b"k" * 32).decode()}})
    )
    monkeypatch.delenv("PERFLINK_ENCRYPTION_KEYS", raising=False)
    crypto.load_keyring.cache_clear()
    try:
        call_command("keys", "rotate")
        active = crypto.load_keyring().active_id
        assert active != "test1"
        with connection.cursor() as cur:
            cur.execute("SELECT mobile FROM org_employee")
            kids = {value.split(":")[1] for (value,) in cur.fetchall()}
        assert kids == {active}
        with tenant_context(world.tenant):
            assert Employee.objects.get(pk=world.staff.pk).mobile == "13812345678"
    finally:
        monkeypatch.undo()
        crypto.load_keyring.cache_clear()

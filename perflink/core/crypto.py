"""Authenticated encryption (AES-256-GCM) of sensitive fields, with key ids for rotation.

Stored form: ``enc1:<key id>:<base64(nonce || ciphertext+tag)>``. The associated data binds a value
to its column (``table.column``), so a ciphertext copied into another column does not decrypt.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "enc1"


class KeyringError(RuntimeError):
    pass


@dataclass(frozen=True)
class Keyring:
    active_id: str
    keys: dict[str, bytes]

    def encrypt(self, plaintext: str, aad: str) -> str:
        nonce = secrets.token_bytes(12)
        ct = AESGCM(self.keys[self.active_id]).encrypt(nonce, plaintext.encode("utf-8"), aad.encode("utf-8"))
        return f"{PREFIX}:{self.active_id}:{base64.b64encode(nonce + ct).decode('ascii')}"

    def decrypt(self, stored: str, aad: str) -> str:
        try:
            prefix, kid, payload = stored.split(":", 2)
        except ValueError as exc:
            raise KeyringError("value is not in the encrypted format") from exc
        if prefix != PREFIX:
            raise KeyringError("value is not in the encrypted format")
        if kid not in self.keys:
            raise KeyringError(f"no key with id {kid!r} is configured")
        raw = base64.b64decode(payload)
        return AESGCM(self.keys[kid]).decrypt(raw[:12], raw[12:], aad.encode("utf-8")).decode("utf-8")

    def key_id_of(self, stored: str) -> str:
        return stored.split(":", 2)[1]


def generate_key() -> str:
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode("ascii")


def write_key_file(path: Path, *, rotate: bool = False) -> str:
    """Create a key file (or add a new active key to it when rotating); returns the active key id."""
    data: dict = {"active": None, "keys": {}}
    if path.exists():
        data = json.loads(path.read_text())
        if not rotate:
            return str(data["active"])
    kid = f"k{len(data['keys']) + 1}"
    data["keys"][kid] = generate_key()
    data["active"] = kid
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    tmp.chmod(0o600)
    tmp.replace(path)
    load_keyring.cache_clear()
    return kid


def _decode_key(kid: str, b64: str) -> bytes:
    key = base64.b64decode(b64)
    if len(key) != 32:
        raise KeyringError(f"key {kid!r} must be 32 bytes (base64 of 256 bits)")
    return key


@lru_cache(maxsize=1)
def load_keyring() -> Keyring:
    """Keys from PERFLINK_ENCRYPTION_KEYS / PERFLINK_ENCRYPTION_KEY_ID, else from the key file."""
    env_keys = os.environ.get("PERFLINK_ENCRYPTION_KEYS")
    if env_keys:
        keys = {}
        for item in env_keys.split(","):
            kid, _, b64 = item.strip().partition(":")
            keys[kid] = _decode_key(kid, b64)
        active = os.environ.get("PERFLINK_ENCRYPTION_KEY_ID") or next(iter(keys))
        if active not in keys:
            raise KeyringError(f"PERFLINK_ENCRYPTION_KEY_ID={active!r} is not among PERFLINK_ENCRYPTION_KEYS")
        return Keyring(active, keys)
    from django.conf import settings

    path = Path(settings.PERFLINK_KEY_FILE)
    if not path.exists():
        raise KeyringError(
            f"no encryption key: set PERFLINK_ENCRYPTION_KEYS or create {path} with `perflink keys init`"
        )
    data = json.loads(path.read_text())
    return Keyring(data["active"], {kid: _decode_key(kid, b64) for kid, b64 in data["keys"].items()})

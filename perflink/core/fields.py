"""Model fields for sensitive values: encrypted at rest, plaintext in Python."""

from __future__ import annotations

from typing import Any

from django.db import models

from perflink.core.crypto import PREFIX, load_keyring


class EncryptedTextField(models.TextField):
    """A text column stored as AES-GCM ciphertext bound to its table and column."""

    def _aad(self) -> str:
        return f"{self.model._meta.db_table}.{self.column}"

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return load_keyring().decrypt(value, self._aad())

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        if isinstance(value, str) and value.startswith(PREFIX + ":"):
            return value
        return load_keyring().encrypt(str(value), self._aad())

    def get_db_prep_lookup(self, value: Any, connection: Any) -> Any:  # pragma: no cover - guard
        raise TypeError("encrypted fields cannot be used in lookups")

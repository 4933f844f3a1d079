"""Test settings: fast hashing, an in-memory or throw-away database, fixed keys."""

from __future__ import annotations

import base64
import os

from .base import *  # noqa: F403
from .base import DATABASES, VAR_DIR

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
os.environ.setdefault("PERFLINK_ENCRYPTION_KEYS", "test1:" + base64.b64encode(b"k" * 32).decode())
os.environ.setdefault("PERFLINK_ENCRYPTION_KEY_ID", "test1")
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # pytest-django creates its own test database; a file (not :memory:) so live-server threads share it,
    # named per process so two test runs on one machine never share (and corrupt) one file.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

"""Production settings: secrets and database from the environment, TLS-only cookies, strict headers."""

from __future__ import annotations

import os

from .base import *  # noqa: F403

DEBUG = False
SECRET_KEY = os.environ["PERFLINK_SECRET_KEY"]
ALLOWED_HOSTS = [h for h in os.environ.get("PERFLINK_ALLOWED_HOSTS", "").split(",") if h]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_SSL_REDIRECT = os.environ.get("PERFLINK_SSL_REDIRECT", "1") == "1"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
MAILERS = mailers("smtp")  # noqa: F405 (from base): real mail; PERFLINK_EMAIL_BACKEND=console opts out
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

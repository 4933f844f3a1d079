"""Settings shared by every environment; the defaults are the local/demo set-up (SQLite under var/)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("PERFLINK_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _local_secret(name: str) -> str:
    """A per-installation secret kept in var/ (dev and demo only; production reads the environment)."""
    path = VAR_DIR / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = os.environ.get("PERFLINK_SECRET_KEY") or _local_secret("secret_key")
DEBUG = os.environ.get("PERFLINK_DEBUG", "1") == "1"
ALLOWED_HOSTS = [
    h for h in os.environ.get("PERFLINK_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h
]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "ninja",
    "perflink.core",
    "perflink.tenancy",
    "perflink.accounts",
    "perflink.org",
    "perflink.audit",
    "perflink.ingest",
    "perflink.metrics",
    "perflink.incentives",
    "perflink.collab",
    "perflink.notify",
    "perflink.analytics",
    "perflink.demo",
    "perflink.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "perflink.core.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "perflink.tenancy.middleware.TenantContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "perflink.web.context_processors.shell",
                "perflink.notify.context_processors.inbox",
            ],
        },
    },
]

# --- Database: SQLite file (WAL) by default, PostgreSQL through DATABASE_URL -------------------
SQLITE_PATH = VAR_DIR / "perflink.sqlite3"
if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": SQLITE_PATH,
            "OPTIONS": {
                # WAL lets readers run beside the single writer; IMMEDIATE takes the write lock at
                # BEGIN, so two writers queue instead of failing half-way with "database is locked".
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts ----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["perflink.accounts.backends.TenantUserBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
PERFLINK_LOCKOUT_THRESHOLD = 5
PERFLINK_LOCKOUT_MINUTES = 15

# Idle timeout: the session expires 30 minutes after the last request.
SESSION_COOKIE_AGE = int(os.environ.get("PERFLINK_SESSION_IDLE_SECONDS", 30 * 60))
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"

# --- Sensitive-field encryption ----------------------------------------------------------------
# Keys: PERFLINK_ENCRYPTION_KEYS="kid:base64key,..." with PERFLINK_ENCRYPTION_KEY_ID naming the active
# one, or a key file (JSON, made by `perflink keys init`) at PERFLINK_KEY_FILE.
PERFLINK_KEY_FILE = Path(os.environ.get("PERFLINK_KEY_FILE", VAR_DIR / "keys.json"))

# --- I18n: Chinese first, English second --------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "perflink" / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static files: served locally (no CDN), by WhiteNoise ---------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every start when it is missing
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": VAR_DIR / "media"},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

NINJA_PAGINATION_PER_PAGE = 50
NINJA_PAGINATION_MAX_LIMIT = 500

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("PERFLINK_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

APP_NAME = _("Perflink")

# --- Notifications: e-mail and outgoing channels (perflink.notify) ------------------------------
# Mail goes to the console in development, so a fresh install sends nothing out; production settings use SMTP
# (localhost:25 unless PERFLINK_EMAIL_HOST says otherwise; failed sends are retried and logged by perflink.notify).
# SMTP: PERFLINK_EMAIL_BACKEND=smtp and PERFLINK_EMAIL_HOST, _PORT, _HOST_USER, _HOST_PASSWORD, _USE_TLS or _USE_SSL.
# Django 6.1's MAILERS (the EMAIL_HOST-style settings are deprecated there).
_MAIL_BACKENDS = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
}


def mailers(default_backend: str) -> dict[str, dict[str, object]]:
    """MAILERS from PERFLINK_EMAIL_* (production.py calls it with "smtp": a server sends real mail)."""
    backend = os.environ.get("PERFLINK_EMAIL_BACKEND", default_backend)
    default: dict[str, object] = {"BACKEND": _MAIL_BACKENDS.get(backend, backend)}
    if default["BACKEND"] == _MAIL_BACKENDS["smtp"]:
        default["OPTIONS"] = {
            "host": os.environ.get("PERFLINK_EMAIL_HOST", "localhost"),
            "port": int(os.environ.get("PERFLINK_EMAIL_PORT", "25")),
            "username": os.environ.get("PERFLINK_EMAIL_HOST_USER", ""),
            "password": os.environ.get("PERFLINK_EMAIL_HOST_PASSWORD", ""),
            "use_tls": os.environ.get("PERFLINK_EMAIL_USE_TLS", "0") == "1",
            "use_ssl": os.environ.get("PERFLINK_EMAIL_USE_SSL", "0") == "1",
            "timeout": int(os.environ.get("PERFLINK_EMAIL_TIMEOUT", "10")),
        }
    return {"default": default}


MAILERS = mailers("console")
DEFAULT_FROM_EMAIL = os.environ.get("PERFLINK_DEFAULT_FROM_EMAIL", "Perflink <perflink@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Links in e-mails and robot messages: the address people open Perflink at (no link without it).
PERFLINK_SITE_URL = os.environ.get("PERFLINK_SITE_URL", "")
PERFLINK_NOTIFY_TIMEOUT = float(os.environ.get("PERFLINK_NOTIFY_TIMEOUT", "10"))  # seconds per HTTP call
PERFLINK_NOTIFY_EMAIL_USERS = os.environ.get("PERFLINK_NOTIFY_EMAIL_USERS", "1") == "1"  # inbox items by mail
# First attempts on a Celery worker instead of inline after the commit (needs Celery and a broker).
PERFLINK_NOTIFY_CELERY = os.environ.get("PERFLINK_NOTIFY_CELERY", "0") == "1"

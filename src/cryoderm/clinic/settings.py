"""Django settings of the clinic, read from the environment when Django starts.

See :mod:`cryoderm.clinic.storage` for the data directory, database and secret key, and
docs/deployment.md for every variable. Apps, middleware and URLs are plain lists: add an
app by appending it to ``INSTALLED_APPS`` (and its middleware to ``MIDDLEWARE``).
"""

from __future__ import annotations

import os

from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from cryoderm.clinic import keys, storage


def env_bool(name: str, default: bool) -> bool:
    """A boolean variable; anything but true/false/1/0 is refused (never guessed)."""
    raw = os.environ.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("true", "1", "yes"):
        return True
    if raw in ("false", "0", "no"):
        return False
    raise ImproperlyConfigured(f"{name} = {raw!r}: use true or false")


DATA_DIR = storage.data_dir()
# The audit and backup keys live outside the data directory (docs/security.md, "Audit keys").
CRYODERM_KEY_DIR = keys.key_dir(DATA_DIR)
SECRET_KEY = storage.secret_key(DATA_DIR)
DATABASES = {"default": storage.database(DATA_DIR)}
DEBUG = env_bool("CRYODERM_DEBUG", False)
ALLOWED_HOSTS = [
    host.strip()
    for host in os.environ.get("CRYODERM_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
    if host.strip()
]
# Behind TLS (a reverse proxy terminating HTTPS) set CRYODERM_HTTPS=true: cookies are then
# sent over HTTPS only and browsers are told to keep to HTTPS.
HTTPS = env_bool("CRYODERM_HTTPS", False)

INSTALLED_APPS = [
    "cryoderm.clinic",
    "cryoderm.clinic.audit",
    "cryoderm.clinic.records",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",
    "cryoderm.clinic.accounts",
    "cryoderm.clinic.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "cryoderm.clinic.accounts.middleware.SessionCookieShapeMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "cryoderm.clinic.accounts.middleware.IdleLogoutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "cryoderm.clinic.urls"
ASGI_APPLICATION = "cryoderm.clinic.asgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# Argon2id first (OWASP Password Storage Cheat Sheet); the others only verify old hashes.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
# ASVS 2.1.1: at least 12 characters.
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = HTTPS
SESSION_COOKIE_NAME = "cryoderm_session"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_HSTS_SECONDS = 31_536_000 if HTTPS else 0
# No SECURE_PROXY_SSL_HEADER: Django would believe X-Forwarded-Proto from anyone. The server
# (uvicorn) takes X-Forwarded-Proto and X-Forwarded-For only from CRYODERM_TRUSTED_PROXIES and
# sets the request's scheme and client address from them (docs/deployment.md).
SECURE_SSL_REDIRECT = HTTPS
# A load balancer may probe the health endpoint over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("CRYODERM_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
# WhiteNoise serves the apps' static files directly; collectstatic (optional) writes here.
STATIC_ROOT.mkdir(exist_ok=True)
MEDIA_URL = "media/"
MEDIA_ROOT = DATA_DIR / "media"
# Photographs are clinical records: readable by the clinic's own account only.
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve static files straight from the apps (no collectstatic step needed by `cryoderm serve`).
WHITENOISE_USE_FINDERS = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("CRYODERM_LOG_LEVEL", "WARNING")},
}

# Accounts and security (docs/security.md): a sign-in throttle in front of the model backend
# (and a one-time-code backend that only confirms a colleague's presence), second factors,
# idle logout, and a strict content security policy (django-csp; per-request nonce for
# the few inline scripts or styles a page may need).
AUTHENTICATION_BACKENDS = [
    "cryoderm.clinic.accounts.backends.ThrottledModelBackend",
    "cryoderm.clinic.accounts.backends.OneTimeCodeBackend",
]
LOGIN_URL = "/login/"


def env_int(name: str, default: int) -> int:
    """An integer variable; anything else is refused (the accounts check bounds it)."""
    raw = os.environ.get(name, "").strip()
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} = {raw!r}: use a whole number") from None


# The numbers and their reasons: cryoderm.clinic.accounts.config.
CRYODERM_SIGNIN_FREE_FAILURES = env_int("CRYODERM_SIGNIN_FREE_FAILURES", 3)
CRYODERM_SIGNIN_ADDRESS_FREE_FAILURES = env_int("CRYODERM_SIGNIN_ADDRESS_FREE_FAILURES", 30)
CRYODERM_SIGNIN_BASE_DELAY_S = env_int("CRYODERM_SIGNIN_BASE_DELAY_S", 2)
CRYODERM_SIGNIN_MAX_DELAY_S = env_int("CRYODERM_SIGNIN_MAX_DELAY_S", 300)
CRYODERM_SIGNIN_WINDOW_S = env_int("CRYODERM_SIGNIN_WINDOW_S", 3600)
CRYODERM_IDLE_LOGOUT_MINUTES = env_int("CRYODERM_IDLE_LOGOUT_MINUTES", 15)
CRYODERM_MFA_REQUIRED_ROLES = tuple(
    role.strip()
    for role in os.environ.get(
        "CRYODERM_MFA_REQUIRED_ROLES", "admin,medical_director,practitioner"
    ).split(",")
    if role.strip()
)

# Signed checkpoints of the audit chain (docs/security.md): where they are appended, and how
# often. assumption: every 5 minutes or 1,000 entries bounds what a deletion of the newest
# entries could hide to a few minutes of work, at one small file write per 5 minutes.
CRYODERM_AUDIT_CHECKPOINTS = os.environ.get("CRYODERM_AUDIT_CHECKPOINTS", "") or None
CRYODERM_AUDIT_CHECKPOINT_INTERVAL_S = env_int("CRYODERM_AUDIT_CHECKPOINT_INTERVAL_S", 300)
CRYODERM_AUDIT_CHECKPOINT_EVERY = env_int("CRYODERM_AUDIT_CHECKPOINT_EVERY", 1000)


def env_positive(name: str, default: int) -> int:
    value = env_int(name, default)
    if value <= 0:
        raise ImproperlyConfigured(f"{name} = {value}: use a whole number above 0")
    return value


# Serving (cryoderm.clinic.server.limits holds the defaults and their reasoning).
from cryoderm.clinic.server import limits as _limits  # noqa: E402

CRYODERM_MAX_BODY_BYTES = env_positive("CRYODERM_MAX_BODY_BYTES", _limits.MAX_BODY_BYTES)
CRYODERM_MAX_UPLOAD_BYTES = env_positive("CRYODERM_MAX_UPLOAD_BYTES", _limits.MAX_UPLOAD_BYTES)
CRYODERM_MAX_CONNECTIONS = env_positive("CRYODERM_MAX_CONNECTIONS", _limits.MAX_CONNECTIONS)
CRYODERM_HEADER_TIMEOUT_S = env_positive("CRYODERM_HEADER_TIMEOUT_S", int(_limits.HEADER_TIMEOUT_S))
CRYODERM_BODY_TIMEOUT_S = env_positive("CRYODERM_BODY_TIMEOUT_S", int(_limits.BODY_TIMEOUT_S))
# Web worker processes of `cryoderm serve` (cryoderm.clinic.server.workers: one per core).
from cryoderm.clinic.server import workers as _workers  # noqa: E402

CRYODERM_WEB_WORKERS = env_positive("CRYODERM_WEB_WORKERS", _workers.default_count())
# Django's own cap on a body it reads into memory, kept equal to the server's.
DATA_UPLOAD_MAX_MEMORY_SIZE = CRYODERM_MAX_BODY_BYTES
# The reverse proxies whose forwarded headers are believed (addresses or networks, comma-
# separated); nobody's by default.
CRYODERM_TRUSTED_PROXIES = [
    entry.strip()
    for entry in os.environ.get("CRYODERM_TRUSTED_PROXIES", "").split(",")
    if entry.strip()
]

# How the interlock's devices are run: "embedded" (simulated, in the interlock that
# `cryoderm serve` starts) or "external" (an interlock run separately, real devices).
CRYODERM_INTERLOCK_SOURCE = os.environ.get("CRYODERM_INTERLOCK_SOURCE", "embedded")
if CRYODERM_INTERLOCK_SOURCE not in ("embedded", "external"):
    raise ImproperlyConfigured(
        f"CRYODERM_INTERLOCK_SOURCE = {CRYODERM_INTERLOCK_SOURCE!r}: use embedded or external"
    )

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

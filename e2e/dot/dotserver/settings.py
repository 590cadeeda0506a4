"""Settings of the test OAuth server: SQLite in DOT_DATA_DIR, loopback only.

Environment (scripts/dot-server sets these):
  DOT_DATA_DIR               where dot.sqlite3 lives
  DOT_PUBLIC_URL             http://127.0.0.1:PORT, what browsers and the vault use
  DOT_ACCESS_TOKEN_SECONDS   access-token lifetime (short, so tests can watch it expire)
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("DOT_DATA_DIR", BASE_DIR.parent / ".data"))
PUBLIC_URL = os.environ.get("DOT_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")

SECRET_KEY = "test-only-not-a-secret"  # a loopback test fixture: nothing to protect
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "oauth2_provider",
    "dotserver",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "dotserver.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": DATA_DIR / "dot.sqlite3"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
LOGIN_URL = "/accounts/login/"
# The vault and the test server share a host name (127.0.0.1 vs localhost differ, but keep
# DOT's session cookie distinct from anything else on loopback anyway).
SESSION_COOKIE_NAME = "dot_sessionid"
CSRF_COOKIE_NAME = "dot_csrftoken"

OAUTH2_PROVIDER = {
    "SCOPES": {"read": "Read your profile (username and email)"},
    "DEFAULT_SCOPES": ["read"],
    "PKCE_REQUIRED": True,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    "ACCESS_TOKEN_EXPIRE_SECONDS": int(os.environ.get("DOT_ACCESS_TOKEN_SECONDS", "3600")),
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    # The issuer of the RFC 8414 metadata and of RFC 9207's `iss` on authorization responses.
    "OIDC_ISS_ENDPOINT": PUBLIC_URL + "/o",
    # RFC 9700 behaviour: S256 only, `iss` on every authorization response, no tokens in URLs.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}

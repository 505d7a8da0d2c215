"""Production: everything from helpdesk.settings plus HTTPS hardening.

DJANGO_SETTINGS_MODULE=helpdesk.settings_production requires SECRET_KEY,
DATABASE_URL and REDIS_URL in the environment; `manage.py check --deploy`
is clean with it.
"""

import environ

_env = environ.Env()
for _required in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL"):
    _env.str(_required)  # raises ImproperlyConfigured when missing

from helpdesk.settings import *  # noqa: E402,F403

DEBUG = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = _env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = _env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

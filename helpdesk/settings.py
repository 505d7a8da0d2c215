"""Settings, all from the environment (12-factor). See README.md, "Settings"."""

from __future__ import annotations

import secrets
from pathlib import Path

import environ
from csp.constants import NONE, SELF

from helpdesk import embedded

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
env.read_env(BASE_DIR / ".env") if (BASE_DIR / ".env").exists() else None


def _development_secret(name: str) -> str:
    """A secret generated once into .data/ so development needs no configuration."""
    path = embedded.data_dir() / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="") or _development_secret("secret_key")
# Earlier keys, still accepted for what they signed (sessions, chat tokens, file
# links) while it expires: rotating SECRET_KEY logs nobody out (docs/operations.md).
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "helpdesk.apps.LumenAdminConfig",  # django.contrib.admin, the project's site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "channels",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "csp",
    "helpdesk.apps.HelpdeskConfig",
    "customers",
    "knowledge",
    "conversations",
    "tickets",
    "analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "helpdesk.audit.AuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# Content Security Policy (django-csp), the same in development and production so a page
# that breaks under it breaks on the developer's machine first (docs/security.md).
# Nothing inline runs or applies: every script and style is a file under static/.
# Per-view exceptions use django-csp's decorators or the response's `_csp_replace`
# (the widget's chat page may be framed by its site's origins; uploads run nothing).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "media-src": [SELF],
        # 'self' matches ws:/wss: of the page's own host and port (CSP Level 3).
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

ROOT_URLCONF = "helpdesk.urls"
ASGI_APPLICATION = "helpdesk.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: DATABASE_URL, else the embedded PostgreSQL under .data/ -------
DATABASE_URL = env.str("DATABASE_URL", default="") or embedded.postgres_url()
DATABASES = {"default": embedded.database_config(DATABASE_URL)}
DATABASES["default"].setdefault("OPTIONS", {})
# A connection pool per process (psycopg_pool). Under ASGI every HTTP request
# and every `database_sync_to_async` call may run on another thread; with
# per-thread persistent connections (CONN_MAX_AGE) each new thread opened its
# own connection and a dead thread's was only closed when the garbage
# collector got to it — under load the server ran PostgreSQL out of
# connections. The pool hands a connection to whichever thread needs one and
# takes it back at the end of the request or the call.
DATABASE_POOL_SIZE = env.int("DATABASE_POOL_SIZE", default=20)
if DATABASE_POOL_SIZE > 0:
    DATABASES["default"]["OPTIONS"]["pool"] = {
        "min_size": min(2, DATABASE_POOL_SIZE),
        "max_size": DATABASE_POOL_SIZE,
        "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Checked when handed out (an empty query): after a PostgreSQL restart a
    # dead connection is replaced instead of failing the request.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DATABASE_POOL_CHECK", default=True)
else:
    # Without a pool: persistent connections per thread, with health checks.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: REDIS_URL, else the embedded Redis under .data/ -----------------
REDIS_URL = env.str("REDIS_URL", default="") or embedded.redis_url()
# redis-py 8 caps an async connection pool at 100 connections. The channel
# layer opens one connection per concurrent operation of a daphne process; at a
# thousand sockets the cap raised MaxConnectionsError, daphne closed sockets
# with 1011 and messages were lost. The cap is set explicitly, high enough for
# the sockets one process serves.
REDIS_MAX_CONNECTIONS = env.int("REDIS_MAX_CONNECTIONS", default=2000)
CHANNEL_LAYER_PREFIX = env.str("CHANNEL_LAYER_PREFIX", default="lumen")
# redis-py 7+ reads its own version from the package metadata (files on disk,
# parsed as e-mail headers) for every new connection, on the event loop; under
# load the pools grow and that was most of the rate limiter's time. One
# DriverInfo, made once, is given to every connection instead.
try:
    from redis.driver_info import DriverInfo

    REDIS_CONNECTION_OPTIONS: dict = {"driver_info": DriverInfo()}
except ImportError:  # redis-py before 7 has no driver info to make
    REDIS_CONNECTION_OPTIONS = {}

CHANNEL_LAYERS = {
    "default": {
        # The PubSub layer: group_send is one PUBLISH whatever the group size,
        # and it has no per-process inbox that can overflow and drop messages
        # (the core layer's `capacity`); see docs/benchmarks.md. Ours tells the
        # sockets to reconnect and resume when its subscription to Redis had to be
        # made again (helpdesk/channel_layer.py, docs/faults.md).
        "BACKEND": "helpdesk.channel_layer.ResubscribingChannelLayer",
        "CONFIG": {
            "hosts": [
                {
                    "address": REDIS_URL,
                    "max_connections": REDIS_MAX_CONNECTIONS,
                    **REDIS_CONNECTION_OPTIONS,
                }
            ],
            "prefix": CHANNEL_LAYER_PREFIX,
        },
    }
}

CACHES = {
    "default": {
        "BACKEND": "helpdesk.cache.SharedPoolRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env.str("CACHE_PREFIX", default="lumen"),
        "OPTIONS": REDIS_CONNECTION_OPTIONS,
    }
}

SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# --- Celery -------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A task whose worker died without acknowledging it goes back to its queue after this
# many seconds (Redis has no other way to know; tasks are acknowledged late).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Lumen Helpdesk <care@localhost>")
# Installed into django-celery-beat's tables by the database scheduler, where
# admin can change them (Periodic tasks).
CELERY_BEAT_SCHEDULE = {
    "route-waiting-conversations": {
        "task": "conversations.tasks.route_waiting_task",
        "schedule": 15.0,
    },
    "sweep-agent-presence": {
        "task": "conversations.tasks.sweep_presence_task",
        "schedule": 60.0,
    },
    "record-sla-breaches": {
        "task": "tickets.tasks.record_breaches_task",
        "schedule": 60.0,
    },
    "warn-sla-at-risk": {
        "task": "tickets.tasks.warn_at_risk_task",
        "schedule": 60.0,
    },
    "run-time-based-ticket-rules": {
        "task": "tickets.tasks.run_time_rules_task",
        "schedule": 300.0,
    },
    # Webhooks (helpdesk/webhooks/deliveries.py): what an on-commit task missed, retries.
    "deliver-webhooks": {
        "task": "helpdesk.tasks.deliver_webhooks_task",
        "schedule": 15.0,
    },
    # The outbox and the delivery log past their retention (helpdesk/webhooks/retention.py).
    "prune-webhooks": {
        "task": "helpdesk.tasks.prune_webhooks_task",
        "schedule": 3600.0,
    },
    # The audit log past AUDIT_RETENTION_DAYS (docs/security.md, "Audit log").
    "prune-audit-log": {
        "task": "helpdesk.tasks.prune_audit_log_task",
        "schedule": 86400.0,
    },
    "forget-idempotency-keys": {
        "task": "helpdesk.tasks.forget_idempotency_keys_task",
        "schedule": 3600.0,
    },
    "collaboration-overdue": {
        "task": "tickets.tasks.collaboration_overdue_task",
        "schedule": 60.0,
    },
    # Team rooms (docs/rooms.md): urgent reminders, and messages past their retention.
    "rooms-remind-urgent": {
        "task": "conversations.rooms.tasks.remind_urgent_task",
        "schedule": 30.0,
    },
    "rooms-purge-old-messages": {
        "task": "conversations.rooms.tasks.purge_room_messages_task",
        "schedule": 3600.0,
    },
    # Care (docs/care.md): the planners claim, the sender sends what is due.
    "care-plan-birthdays": {
        "task": "customers.tasks.plan_birthdays_task",
        "schedule": 900.0,
    },
    "care-plan-order-reminders": {
        "task": "customers.tasks.plan_order_reminders_task",
        "schedule": 300.0,
    },
    "care-plan-vip-revisits": {
        "task": "customers.tasks.plan_vip_revisits_task",
        "schedule": 3600.0,
    },
    "care-send-due": {
        "task": "conversations.tasks.send_due_outreach_task",
        "schedule": 60.0,
    },
    # Segments (time turns new customers into occasional ones) and recommendation
    # conversions no order upsert reported.
    "customer-segments": {
        "task": "customers.tasks.refresh_segments_task",
        "schedule": 86400.0,
    },
    "recommendation-conversions": {
        "task": "customers.tasks.sweep_recommendation_conversions_task",
        "schedule": 3600.0,
    },
    # Privacy (docs/privacy.md): files and texts of conversations closed long ago.
    "privacy-retention": {
        "task": "conversations.tasks.apply_retention_task",
        "schedule": 3600.0,
    },
    # Analytics (docs/metrics.md): the hourly and daily rollups of the settle window.
    "analytics-rollup": {
        "task": "analytics.tasks.roll_up_recent_task",
        "schedule": 600.0,
    },
}
# Care messages a customer gets at most in 24 hours (surveys, greetings, reminders).
CARE_DAILY_CAP = env.int("CARE_DAILY_CAP", default=3)
# Outreach rows the sender takes, decides and records at a time (one transaction each).
CARE_SEND_BATCH = env.int("CARE_SEND_BATCH", default=1000)
# Threads (each its own database connection) the SLA breach and at-risk jobs use when
# more than one batch is due: a backlog is worked off in parallel (SKIP LOCKED splits it).
SLA_JOB_WORKERS = env.int("SLA_JOB_WORKERS", default=2)
# Analytics: how many hours back each rollup run recomputes (conversations still going on
# change the hour they started in).
ANALYTICS_SETTLE_HOURS = env.int("ANALYTICS_SETTLE_HOURS", default=48)
# Today's live figures are computed at most this often (seconds), shared by every
# dashboard, board and API call meanwhile; 0: at every request. Older ones are still shown
# while a worker computes them again, up to ANALYTICS_LIVE_STALE_SECONDS; older still, the
# request computes them.
ANALYTICS_LIVE_SECONDS = env.int("ANALYTICS_LIVE_SECONDS", default=15)
ANALYTICS_LIVE_STALE_SECONDS = env.int("ANALYTICS_LIVE_STALE_SECONDS", default=300)

# --- Auth ---------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "desk:login"
LOGIN_REDIRECT_URL = "desk:home"
LOGOUT_REDIRECT_URL = "desk:login"
# Failed logins (desk and admin, docs/security.md): after this many failures for one user
# name (from any address), or from one address (for any names), within the window that
# starts with the first of them, attempts are refused until the window ends.
# Days an audit entry is kept; 0 keeps them for ever.
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=730)
LOGIN_FAILURES_PER_USER = env.int("LOGIN_FAILURES_PER_USER", default=5)
LOGIN_FAILURES_PER_IP = env.int("LOGIN_FAILURES_PER_IP", default=20)
LOGIN_FAILURE_WINDOW = env.int("LOGIN_FAILURE_WINDOW", default=900)  # seconds
# Reverse proxies in front of daphne that append to X-Forwarded-For; 0: none, the client's
# address is REMOTE_ADDR (a header a client sends itself is never believed).
AUTH_TRUSTED_PROXIES = env.int("AUTH_TRUSTED_PROXIES", default=0)

# --- Languages and time ---------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(embedded.data_dir() / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]

# --- REST framework -------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["helpdesk.parsers.JSONBodyParser"],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Lumen Helpdesk API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # /api/docs/: Swagger UI from drf-spectacular-sidecar's static files, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "helpdesk.schema.document_common_errors",
    ],
    # Choice sets sharing a field name with another's get a name of their own.
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "tickets.models.Ticket.Status",
        "OrderStatusEnum": "customers.models.Order.Status",
        "ConversationStatusEnum": "conversations.models.Conversation.Status",
        "ConversationChannelEnum": "conversations.models.Conversation.Channel",
    },
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024

# --- Chat -------------------------------------------------------------------------
CHAT_SESSION_RATE = env.str("CHAT_SESSION_RATE", default="30/min")  # sessions per IP
# Widget settings, invitation checks and answers per IP.
CHAT_INVITATION_RATE = env.str("CHAT_INVITATION_RATE", default="30/min")
CHAT_TOKEN_MAX_AGE = env.int("CHAT_TOKEN_MAX_AGE", default=30 * 24 * 3600)
# HMAC key a partner's backend uses to vouch for a customer's external_id.
CHAT_IDENTITY_SECRET = env.str("CHAT_IDENTITY_SECRET", default="") or _development_secret(
    "chat_identity_secret"
)
# Earlier identity secrets still accepted while partners' backends move to the new one.
CHAT_IDENTITY_SECRET_FALLBACKS = env.list("CHAT_IDENTITY_SECRET_FALLBACKS", default=[])
# Customer messages per conversation in any CHAT_RATE_WINDOW seconds (agents: 3 times it).
CHAT_RATE_LIMIT = env.int("CHAT_RATE_LIMIT", default=10)
CHAT_RATE_WINDOW = env.int("CHAT_RATE_WINDOW", default=10)
CHAT_MAX_BODY = 4000
# Origins allowed to open websockets; empty means "the hosts in ALLOWED_HOSTS".
WEBSOCKET_ALLOWED_ORIGINS = env.list("WEBSOCKET_ALLOWED_ORIGINS", default=[])
BOT_NAME = {"zh-hans": "Lumen 助手", "en": "Lumen Assistant"}

# --- Routing --------------------------------------------------------------------------
# Seconds after an agent's last desk socket closes before they are away and
# the conversations they hold go back to the queue (a reload is not a leave).
AGENT_AWAY_GRACE = env.float("AGENT_AWAY_GRACE", default=30.0)
# Conversations one desk socket follows live at most; past it the oldest is dropped.
DESK_MAX_SUBSCRIPTIONS = env.int("DESK_MAX_SUBSCRIPTIONS", default=50)
# Team rooms (docs/rooms.md): how long messages are kept, and how often an addressee who
# has not acknowledged an urgent message is reminded.
ROOM_RETENTION_DAYS = env.int("ROOM_RETENTION_DAYS", default=30)
ROOM_URGENT_REMIND_SECONDS = env.int("ROOM_URGENT_REMIND_SECONDS", default=300)
ROOM_ATTACHMENT_RATE = env.int("ROOM_ATTACHMENT_RATE", default=30)  # uploads a minute per agent
# Waiting customers' positions are published at most this often per group.
QUEUE_UPDATE_DELAY = env.float("QUEUE_UPDATE_DELAY", default=0.5)
# The estimated wait before there is history to measure it from.
TYPICAL_HANDLE_SECONDS = env.int("TYPICAL_HANDLE_SECONDS", default=300)

# --- Tickets ------------------------------------------------------------------------
# When another team's answer to a collaboration request is due, unless the sender
# chooses otherwise: minutes of the ticket's business hours (its SLA calendar).
TICKET_COLLABORATION_DUE_MINUTES = env.int("TICKET_COLLABORATION_DUE_MINUTES", default=120)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
}

BENCH_RELAY = env.bool("BENCH_RELAY", default=False)

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Tests and `make run` serve static files straight from the apps' folders.
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=True)
WHITENOISE_AUTOREFRESH = DEBUG

# --- Self-service (customers/commerce.py) -----------------------------------------
COMMERCE_BACKEND = env.str("COMMERCE_BACKEND", default="local")  # local | http
COMMERCE_URL = env.str("COMMERCE_URL", default="")
COMMERCE_TOKEN = env.str("COMMERCE_TOKEN", default="")
COMMERCE_TIMEOUT = env.float("COMMERCE_TIMEOUT", default=3.0)

# --- Partner API -------------------------------------------------------------------
API_KEY_RATE = env.str("API_KEY_RATE", default="600/min")  # requests per key

# --- Webhooks (helpdesk/webhooks/) ------------------------------------------------------
# Loopback, private and link-local targets are refused unless this is set (tests, local
# development): a partner's URL must not reach into the shop's own network.
WEBHOOK_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", default=False)
WEBHOOK_TIMEOUT = env.float("WEBHOOK_TIMEOUT", default=10.0)  # seconds; twice for a whole attempt
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=8)
WEBHOOK_RETRY_BASE = env.float("WEBHOOK_RETRY_BASE", default=30.0)  # doubled each attempt
WEBHOOK_RETRY_MAX = env.float("WEBHOOK_RETRY_MAX", default=3600.0)
# Failed attempts in a row that disable a subscription (a notice tells the supervisors).
WEBHOOK_DISABLE_AFTER = env.int("WEBHOOK_DISABLE_AFTER", default=50)
WEBHOOK_MAX_SUBSCRIPTIONS = env.int("WEBHOOK_MAX_SUBSCRIPTIONS", default=20)  # per API key
WEBHOOK_BATCH = env.int("WEBHOOK_BATCH", default=50)  # deliveries a worker claims at once
WEBHOOK_SEND_THREADS = env.int("WEBHOOK_SEND_THREADS", default=8)  # POSTs at once per worker
WEBHOOK_RESPONSE_EXCERPT = 1024  # bytes of a receiver's answer kept with the attempt
# Retention (helpdesk/webhooks/retention.py, hourly): a finished delivery (delivered or
# failed) and its attempts are kept this many days after it finished; an event this many
# days after it was written, once fanned out and no delivery of it is left. What is still
# to be sent is never pruned. Rows deleted per statement:
WEBHOOK_DELIVERY_RETENTION_DAYS = env.int("WEBHOOK_DELIVERY_RETENTION_DAYS", default=30)
WEBHOOK_EVENT_RETENTION_DAYS = env.int("WEBHOOK_EVENT_RETENTION_DAYS", default=7)
WEBHOOK_PRUNE_BATCH = env.int("WEBHOOK_PRUNE_BATCH", default=5000)

# --- Attachments -----------------------------------------------------------------------
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(embedded.data_dir() / "media")))
MEDIA_URL = (
    "media/"  # never served directly: files go out through conversations.views.attachment_file
)
ATTACHMENT_MAX_SIZE = env.int("ATTACHMENT_MAX_SIZE", default=20 * 1024 * 1024)
ATTACHMENT_URL_MAX_AGE = env.int("ATTACHMENT_URL_MAX_AGE", default=7 * 24 * 3600)
# Privacy (docs/privacy.md): after how many days since a conversation closed its files are
# deleted, and its texts erased. 0 (the default) keeps them: a shop decides its own terms.
ATTACHMENT_RETENTION_DAYS = env.int("ATTACHMENT_RETENTION_DAYS", default=0)
CLOSED_CONVERSATION_RETENTION_DAYS = env.int("CLOSED_CONVERSATION_RETENTION_DAYS", default=0)
# Rows the retention job takes a transaction.
PRIVACY_RETENTION_BATCH = env.int("PRIVACY_RETENTION_BATCH", default=500)
FILE_UPLOAD_PERMISSIONS = 0o640
# Speech-to-text for voice notes: a service that takes audio and answers {"text": "..."}.
SPEECH_TO_TEXT_URL = env.str("SPEECH_TO_TEXT_URL", default="")
SPEECH_TO_TEXT_TIMEOUT = env.float("SPEECH_TO_TEXT_TIMEOUT", default=10.0)
CHAT_ATTACHMENT_RATE = env.str("CHAT_ATTACHMENT_RATE", default="30/min")  # uploads per IP
# Files an inbound message names by URL are fetched in the request (docs/api.md): each
# connect and read waits at most the timeout, all of one message's files the deadline.
INBOUND_FETCH_TIMEOUT = env.float("INBOUND_FETCH_TIMEOUT", default=5.0)
INBOUND_FETCH_DEADLINE = env.float("INBOUND_FETCH_DEADLINE", default=15.0)

# --- Bot -----------------------------------------------------------------------------------
# Up to this many published articles the bot keeps its own index in memory;
# above it, PostgreSQL's full-text search gives it candidates.
BOT_MEMORY_INDEX_LIMIT = env.int("BOT_MEMORY_INDEX_LIMIT", default=5000)

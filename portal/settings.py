"""Paved settings: one module, read top to bottom, every value from the environment.

Nothing set means the embedded stack (`make run`): the embedded PostgreSQL and a filesystem
Celery broker under ``PAVED_DATA_DIR``. ``DATABASE_URL`` names another PostgreSQL;
``CELERY_BROKER_URL``/``REDIS_URL`` switch to Redis. Every variable is documented in
docs/configuration.md (a test checks it).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from portal.lib import embedded_postgres
from portal.lib.env import env_bool, env_int, env_list, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

_env_file = env_str("PAVED_ENV_FILE", "")
if _env_file:
    environ.Env.read_env(_env_file, overwrite=False)

# --- Data directory -----------------------------------------------------------------------
# Importing settings creates nothing: `manage.py prepare_data_dir` (run by `make run`) creates
# the folders below and the development secret key.
PAVED_DATA_DIR = Path(env_str("PAVED_DATA_DIR", str(BASE_DIR / "var"))).resolve()

# --- Core ---------------------------------------------------------------------------------
DEBUG = env_bool("PAVED_DEBUG", False)
# The demo on one's own machine (`make run`): plain HTTP on 127.0.0.1, demo accounts, sign-up.
# Kept apart from DEBUG so that `make run` shows Paved's own 404/500 pages, not Django's
# technical pages listing every URL pattern.
PAVED_DEMO = env_bool("PAVED_DEMO", False)


def _load_secret_key() -> tuple[str, bool]:
    """Return (key, generated). Without PAVED_SECRET_KEY: the random key `prepare_data_dir` wrote
    into the data dir, else one derived from the data dir's path, so that every process on this
    machine (web, worker, tests) agrees on it. Either is for development only: `check --deploy`
    refuses it (paved.E001)."""
    configured = env_secret("PAVED_SECRET_KEY")
    if configured:
        return configured, False
    key_file = PAVED_DATA_DIR / "secret_key"
    if key_file.is_file():
        return key_file.read_text().strip(), True
    return "paved-dev-" + hashlib.sha256(str(PAVED_DATA_DIR).encode()).hexdigest(), True


SECRET_KEY, PAVED_SECRET_KEY_GENERATED = _load_secret_key()

ALLOWED_HOSTS = env_list("PAVED_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("PAVED_CSRF_TRUSTED_ORIGINS", [])
PAVED_BASE_URL = env_str(
    "PAVED_BASE_URL", f"http://127.0.0.1:{env_str('PAVED_PORT', '8000')}"
).rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django_htmx",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "allauth.socialaccount.providers.github",
    "portal",
    "catalog",
    "runs",
    "scaffolder",
    "infra",
    "metrics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "portal.middleware.DatabaseUnavailableMiddleware",
    "portal.audit.AuditContextMiddleware",
    # Distinct signed-in users per day (writes at most once per user per day, cache-guarded).
    "metrics.middleware.DailyActiveUserMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

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
                "django.template.context_processors.csp",
                "portal.context_processors.paved",
            ],
            "builtins": ["portal.templatetags.paved"],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
# PostgreSQL everywhere: DATABASE_URL, or else the embedded server of `make run` (started by
# bin/embedded-postgres) through its unix socket under PAVED_DATA_DIR.
_database_url = env_str("DATABASE_URL", "")
PAVED_EMBEDDED_DATABASE = not _database_url
if _database_url:
    DATABASES = {"default": environ.Env.db_url_config(_database_url)}
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured(
            f"DATABASE_URL names a {DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]} database; "
            "Paved runs on PostgreSQL only (postgres://user:password@host:5432/dbname), "
            "or leave DATABASE_URL unset for the embedded PostgreSQL of `make run`."
        )
else:
    DATABASES = {"default": embedded_postgres.connection_settings(PAVED_DATA_DIR)}
DATABASES["default"].setdefault("CONN_MAX_AGE", env_int("PAVED_DB_CONN_MAX_AGE", 60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = 5

# --- Cache --------------------------------------------------------------------------------
_redis_url = env_str("REDIS_URL", "")
_cache_url = env_str("PAVED_CACHE_URL", "")
if _cache_url or _redis_url:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _cache_url or _redis_url,
            "KEY_PREFIX": "paved",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(PAVED_DATA_DIR / "cache"),
        }
    }

# --- Auth ---------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "portal.auth.backends.LocalModelBackend",
    "portal.auth.backends.PavedAuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# Local password accounts exist only when explicitly enabled (on in `make run`).
PAVED_LOCAL_LOGIN = env_bool("PAVED_LOCAL_LOGIN", False)

ACCOUNT_ADAPTER = "portal.auth.adapters.PavedAccountAdapter"
SOCIALACCOUNT_ADAPTER = "portal.auth.adapters.PavedSocialAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_LOGIN_ON_GET = env_bool("PAVED_SSO_LOGIN_ON_GET", False)

SOCIALACCOUNT_PROVIDERS: dict[str, dict[str, object]] = {}
_oidc_server = env_str("PAVED_OIDC_SERVER_URL", "")
if _oidc_server:
    SOCIALACCOUNT_PROVIDERS["openid_connect"] = {
        "OAUTH_PKCE_ENABLED": True,
        "APPS": [
            {
                "provider_id": env_str("PAVED_OIDC_PROVIDER_ID", "sso"),
                "name": env_str("PAVED_OIDC_NAME", "Company SSO"),
                "client_id": env_str("PAVED_OIDC_CLIENT_ID", ""),
                "secret": env_secret("PAVED_OIDC_CLIENT_SECRET"),
                "settings": {
                    "server_url": _oidc_server,
                    "token_auth_method": env_str(
                        "PAVED_OIDC_TOKEN_AUTH_METHOD", "client_secret_post"
                    ),
                    "scope": env_list("PAVED_OIDC_SCOPES", ["openid", "profile", "email"]),
                },
            }
        ],
    }
_github_client_id = env_str("PAVED_GITHUB_OAUTH_CLIENT_ID", "")
# GitHub sign-in is for members of these organisations (and of one of these "org/team" teams,
# when set) only; with none, GitHub sign-in is refused (portal/auth/github.py).
PAVED_GITHUB_OAUTH_ORGS = env_list("PAVED_GITHUB_OAUTH_ORGS", [])
PAVED_GITHUB_OAUTH_TEAMS = env_list("PAVED_GITHUB_OAUTH_TEAMS", [])
if _github_client_id:
    SOCIALACCOUNT_PROVIDERS["github"] = {
        # read:org: to ask GitHub whether the person belongs to PAVED_GITHUB_OAUTH_ORGS.
        "SCOPE": ["read:user", "user:email", "read:org"],
        "APPS": [
            {
                "client_id": _github_client_id,
                "secret": env_secret("PAVED_GITHUB_OAUTH_CLIENT_SECRET"),
            }
        ],
    }
    _github_url = env_str("PAVED_GITHUB_OAUTH_URL", "").rstrip("/")
    if _github_url:  # GitHub Enterprise Server
        SOCIALACCOUNT_PROVIDERS["github"]["GITHUB_URL"] = _github_url
if not PAVED_LOCAL_LOGIN and not SOCIALACCOUNT_PROVIDERS and not (DEBUG or PAVED_DEMO):
    # Not fatal (health checks must still answer), but `check` reports it.
    PAVED_NO_LOGIN_METHOD = True
else:
    PAVED_NO_LOGIN_METHOD = False

# --- I18N / time ----------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("PAVED_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files -------------------------------------------------------------------------
STATIC_URL = "static/"
# The container image collects static files at build time outside the data directory.
STATIC_ROOT = Path(env_str("PAVED_STATIC_ROOT", str(PAVED_DATA_DIR / "static"))).resolve()
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            # The container image runs collectstatic and sets this; development serves finders.
            if env_bool("PAVED_MANIFEST_STATIC", False)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = True

# --- Limits ---------------------------------------------------------------------------------
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("PAVED_MAX_REQUEST_BYTES", 5 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = DATA_UPLOAD_MAX_MEMORY_SIZE

# --- Security -------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("PAVED_SECURE_COOKIES", not (DEBUG or PAVED_DEMO))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("PAVED_HSTS_SECONDS", 0 if DEBUG or PAVED_DEMO else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
# Preloading is a decision for the whole domain, not for one app on it: opt in explicitly.
SECURE_HSTS_PRELOAD = env_bool("PAVED_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Behind a TLS-terminating proxy/ingress (the deploy/ manifests), trust its X-Forwarded-Proto
# and redirect plain HTTP to HTTPS. The probes talk plain HTTP to the pod, so they are exempt.
PAVED_BEHIND_TLS_PROXY = env_bool("PAVED_BEHIND_TLS_PROXY", False)
if PAVED_BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("PAVED_SSL_REDIRECT", PAVED_BEHIND_TLS_PROXY and not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
X_FRAME_OPTIONS = "DENY"
# Only behind a proxy that sets X-Forwarded-For: audit records then show the client's address.
PAVED_TRUST_X_FORWARDED_FOR = env_bool("PAVED_TRUST_X_FORWARDED_FOR", False)


def _sso_origins(providers: dict[str, dict[str, Any]]) -> list[str]:
    """Origins the sign-in form redirects to: CSP's form-action also covers the redirect after
    a form post, so without them browsers block "Sign in with SSO" on its way to the IdP."""
    from urllib.parse import urlsplit

    origins = []
    for app in providers.get("openid_connect", {}).get("APPS", []):
        url = urlsplit(str(app.get("settings", {}).get("server_url", "")))
        if url.scheme and url.netloc:
            origins.append(f"{url.scheme}://{url.netloc}")
    if "github" in providers:
        url = urlsplit(str(providers["github"].get("GITHUB_URL") or "https://github.com"))
        origins.append(f"{url.scheme}://{url.netloc}")
    return origins


SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [
        CSP.SELF,
        *_sso_origins(SOCIALACCOUNT_PROVIDERS),
        *env_list("PAVED_CSP_FORM_ACTION", []),
    ],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}

# --- Celery ---------------------------------------------------------------------------------
_broker = env_str("CELERY_BROKER_URL", "") or _redis_url or "filesystem://"
CELERY_BROKER_URL = _broker
PAVED_EMBEDDED_BROKER = _broker.startswith("filesystem://")
if PAVED_EMBEDDED_BROKER:
    # prepare_data_dir creates these folders: the transport needs them before a worker starts.
    _broker_dir = PAVED_DATA_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        "control_folder": str(_broker_dir / "control"),
        # Poll the folder often: steps start promptly and Ctrl-C stops the worker quickly.
        "polling_interval": 0.1,
    }
else:
    # Longer than the longest step lease plus the largest retry countdown (docs/operations.md).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("PAVED_BROKER_VISIBILITY_TIMEOUT", 3600)
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Steps are idempotent and leased, so a task interrupted by a lost broker may simply run again.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_TASK_TIME_LIMIT = env_int("PAVED_TASK_TIME_LIMIT", 1800)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 60
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {"scaffolder.execute_step": {"queue": "provisioning"}}
CELERY_TASK_ALWAYS_EAGER = env_bool("PAVED_TASKS_EAGER", False)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(PAVED_DATA_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "recover-stalled-steps": {
        "task": "scaffolder.recover_stalled_steps",
        "schedule": env_int("PAVED_RECOVERY_INTERVAL", 30),
    },
    "purge-run-secrets": {"task": "scaffolder.purge_run_secrets", "schedule": 3600},
}

# --- Run engine -----------------------------------------------------------------------------
# Workspaces of failed/cancelled runs are kept this long (for "Retry"), then removed by beat.
PAVED_WORKSPACE_RETENTION_HOURS = env_int("PAVED_WORKSPACE_RETENTION_HOURS", 168)
CELERY_BEAT_SCHEDULE["scaffolder-collect-workspaces"] = {
    "task": "scaffolder.collect_workspaces",
    "schedule": env_int("PAVED_WORKSPACE_COLLECT_INTERVAL", 3600),
}
# A repository creation of the local git host that never finished (its worker died before the
# final rename) is removed by the workspace collection once its folder is this old.
PAVED_GIT_ABANDONED_CREATION_SECONDS = env_int("PAVED_GIT_ABANDONED_CREATION_SECONDS", 3600)
# How long a claimed step belongs to its worker without a heartbeat; the engine extends it while
# the step works, so a crashed worker's step is taken over after this plus the recovery interval.
PAVED_STEP_LEASE_SECONDS = env_int("PAVED_STEP_LEASE_SECONDS", 60)
# A pending step whose message was not consumed within this time is enqueued again.
PAVED_STEP_REQUEUE_SECONDS = env_int("PAVED_STEP_REQUEUE_SECONDS", 120)
PAVED_STEP_MAX_ATTEMPTS = env_int("PAVED_STEP_MAX_ATTEMPTS", 5)
PAVED_STEP_RETRY_BACKOFF_SECONDS = env_int("PAVED_STEP_RETRY_BACKOFF_SECONDS", 2)
# A failed run keeps the values of its secret fields (sealed) this long so that it can be
# retried; after that a retry asks for a new run.
PAVED_RUN_SECRET_RETENTION_HOURS = env_int("PAVED_RUN_SECRET_RETENTION_HOURS", 24)
# Limits of one template expression (or one skeleton file) evaluation: loop iterations and
# calls, the size of any value it builds, and wall-clock time (docs/scaffolder.md, "Limits").
PAVED_EXPRESSION_MAX_ITERATIONS = env_int("PAVED_EXPRESSION_MAX_ITERATIONS", 10_000)
PAVED_EXPRESSION_MAX_CHARS = env_int("PAVED_EXPRESSION_MAX_CHARS", 200_000)
PAVED_EXPRESSION_TIMEOUT_MS = env_int("PAVED_EXPRESSION_TIMEOUT_MS", 1000)
# Extra modules that register step kinds (tests use it to add their own kinds to a worker).
PAVED_EXTRA_STEP_MODULES = env_list("PAVED_EXTRA_STEP_MODULES", [])

# --- Providers ------------------------------------------------------------------------------
PAVED_GIT_PROVIDER = env_str("PAVED_GIT_PROVIDER", "local")
PAVED_DEPLOY_PROVIDER = env_str("PAVED_DEPLOY_PROVIDER", "gitops")
PAVED_CLUSTER_PROVIDER = env_str("PAVED_CLUSTER_PROVIDER", "gitops")
# Provider settings (docs/providers.md). Every network call uses PAVED_PROVIDER_TIMEOUT.
PAVED_PROVIDER_TIMEOUT = env_int("PAVED_PROVIDER_TIMEOUT", 30)
PAVED_GIT_LOCAL_ROOT = Path(env_str("PAVED_GIT_LOCAL_ROOT", str(PAVED_DATA_DIR / "git"))).resolve()
PAVED_GIT_HTTP_ANONYMOUS = env_bool("PAVED_GIT_HTTP_ANONYMOUS", False)
PAVED_GITOPS_REPO = env_str("PAVED_GITOPS_REPO", "platform/gitops")
PAVED_ARGOCD_NAMESPACE = env_str("PAVED_ARGOCD_NAMESPACE", "argocd")
PAVED_GITHUB_API_URL = env_str("PAVED_GITHUB_API_URL", "https://api.github.com").rstrip("/")
PAVED_GITHUB_ORG = env_str("PAVED_GITHUB_ORG", "")
# Repository owners every team may create repositories under (docs/security.md); a team may
# always use its own name and the owners its Group lists in paved.dev/repository-owners.
PAVED_SHARED_REPOSITORY_OWNERS = env_list(
    "PAVED_SHARED_REPOSITORY_OWNERS", [PAVED_GITHUB_ORG] if PAVED_GITHUB_ORG else []
)
PAVED_GITHUB_TOKEN = env_secret("PAVED_GITHUB_TOKEN")
PAVED_GITHUB_APP_ID = env_str("PAVED_GITHUB_APP_ID", "")
PAVED_GITHUB_APP_PRIVATE_KEY = env_secret("PAVED_GITHUB_APP_PRIVATE_KEY")
PAVED_GITHUB_INSTALLATION_ID = env_str("PAVED_GITHUB_INSTALLATION_ID", "")
PAVED_GITHUB_BRANCH_PROTECTION = env_bool("PAVED_GITHUB_BRANCH_PROTECTION", True)
PAVED_GITHUB_REQUIRED_REVIEWS = env_int("PAVED_GITHUB_REQUIRED_REVIEWS", 0)
PAVED_GITHUB_THROTTLE = env_bool("PAVED_GITHUB_THROTTLE", True)
# GitLab integration for publish:gitlab and publish:gitlab:merge-request (docs/providers.md):
# the instance's URL, the host name templates write in repoUrl, and an access token with the
# `api` scope. Unset token: the GitLab actions fail with a message saying so.
PAVED_GITLAB_URL = env_str("PAVED_GITLAB_URL", "https://gitlab.com").rstrip("/")
PAVED_GITLAB_HOST = env_str("PAVED_GITLAB_HOST", "")
PAVED_GITLAB_TOKEN = env_secret("PAVED_GITLAB_TOKEN")
PAVED_CLUSTERS = env_str("PAVED_CLUSTERS", "")
PAVED_KUBE_FIELD_MANAGER = env_str("PAVED_KUBE_FIELD_MANAGER", "paved")
PAVED_ARGOCD_URL = env_str("PAVED_ARGOCD_URL", "").rstrip("/")
PAVED_ARGOCD_TOKEN = env_secret("PAVED_ARGOCD_TOKEN")
PAVED_ARGOCD_VERIFY_TLS = env_bool("PAVED_ARGOCD_VERIFY_TLS", True)

# On-call: none | pagerduty | opsgenie. With "none" the on-call steps record the owning
# team as on-call in the catalog and create no rotation. Credentials accept *_FILE variants.
PAVED_ONCALL_PROVIDER = env_str("PAVED_ONCALL_PROVIDER", "none").strip().lower() or "none"
PAVED_PAGERDUTY_TOKEN = env_secret("PAVED_PAGERDUTY_TOKEN")
PAVED_PAGERDUTY_API_URL = env_str("PAVED_PAGERDUTY_API_URL", "https://api.pagerduty.com")


def _escalation_policies() -> dict[str, str]:
    """PAVED_PAGERDUTY_ESCALATION_POLICIES: JSON object, catalog team name -> policy id."""
    import json  # local: keeps this block self-contained

    raw = env_str("PAVED_PAGERDUTY_ESCALATION_POLICIES", "").strip()
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"PAVED_PAGERDUTY_ESCALATION_POLICIES is not valid JSON ({exc}); "
            'expected e.g. {"team-orders": "PABC123"}'
        ) from None
    if not isinstance(parsed, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in parsed.items()
    ):
        raise ImproperlyConfigured(
            "PAVED_PAGERDUTY_ESCALATION_POLICIES must map team names to policy ids (strings), "
            'e.g. {"team-orders": "PABC123"}'
        )
    return parsed


PAVED_PAGERDUTY_ESCALATION_POLICIES = _escalation_policies()
PAVED_OPSGENIE_API_KEY = env_secret("PAVED_OPSGENIE_API_KEY")
PAVED_OPSGENIE_API_URL = env_str("PAVED_OPSGENIE_API_URL", "https://api.opsgenie.com")

# --- Golden path: what the platform provides to scaffolded services (docs/scaffolder.md) ------
# Templates read these as `${{ platform.* }}`; the values are snapshotted into each run.
PAVED_CLUSTER_SECRET_STORE = env_str("PAVED_CLUSTER_SECRET_STORE", "platform-secrets").strip()
PAVED_GATEWAY_NAME = env_str("PAVED_GATEWAY_NAME", "platform-gateway").strip()
PAVED_GATEWAY_NAMESPACE = env_str("PAVED_GATEWAY_NAMESPACE", "gateway-system").strip()
PAVED_SERVICE_HOST_PATTERN = env_str(
    "PAVED_SERVICE_HOST_PATTERN", "{name}.{environment}.apps.example.com"
).strip()
PAVED_ROLLOUTS_GATEWAY_PLUGIN = env_bool("PAVED_ROLLOUTS_GATEWAY_PLUGIN", True)
# The Prometheus the services' canary analysis (Argo Rollouts AnalysisTemplate) queries.
PAVED_PROMETHEUS_URL = env_str(
    "PAVED_PROMETHEUS_URL", "http://prometheus-operated.monitoring.svc:9090"
).strip()
# Commit an ESO PushSecret next to each infrastructure claim, so services read connection secrets
# from PAVED_CLUSTER_SECRET_STORE like their own (docs/infrastructure.md).
PAVED_INFRA_PUSH_CONNECTION_SECRETS = env_bool("PAVED_INFRA_PUSH_CONNECTION_SECRETS", True)


def _check_host_pattern(pattern: str) -> None:
    """A host pattern may only use {name} and {environment}; a typo fails at start-up."""
    import string  # local: keeps this block self-contained

    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(pattern) if f is not None]
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"PAVED_SERVICE_HOST_PATTERN={pattern!r} is malformed ({exc})"
        ) from None
    unknown = sorted({f for f in fields if f not in ("name", "environment")})
    if unknown or "name" not in fields:
        raise ImproperlyConfigured(
            f"PAVED_SERVICE_HOST_PATTERN={pattern!r} must contain {{name}} and may use only "
            f"{{name}} and {{environment}}"
            + (f"; unknown: {', '.join('{' + u + '}' for u in unknown)}" if unknown else "")
        )


_check_host_pattern(PAVED_SERVICE_HOST_PATTERN)
for _setting in (
    "PAVED_CLUSTER_SECRET_STORE",
    "PAVED_GATEWAY_NAME",
    "PAVED_GATEWAY_NAMESPACE",
    "PAVED_PROMETHEUS_URL",
):
    if not globals()[_setting]:
        raise ImproperlyConfigured(f"{_setting} must not be empty")

# --- Email (Django 6.1 MAILERS) -------------------------------------------------------------
_smtp_host = env_str("PAVED_SMTP_HOST", "")
if _smtp_host:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": _smtp_host,
                "port": env_int("PAVED_SMTP_PORT", 587),
                "username": env_str("PAVED_SMTP_USER", ""),
                "password": env_secret("PAVED_SMTP_PASSWORD"),
                "use_tls": env_bool("PAVED_SMTP_TLS", True),
            },
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
DEFAULT_FROM_EMAIL = env_str("PAVED_FROM_EMAIL", "paved@localhost")

# --- Logging --------------------------------------------------------------------------------
PAVED_LOG_LEVEL = env_str("PAVED_LOG_LEVEL", "INFO").upper()
if PAVED_LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
    raise ImproperlyConfigured(
        f"PAVED_LOG_LEVEL={PAVED_LOG_LEVEL!r} is not one of DEBUG, INFO, WARNING, ERROR"
    )
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "portal.lib.redaction.RedactingFilter"},
        "forbidden_without_traceback": {"()": "portal.lib.logfilters.ForbiddenWithoutTraceback"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact"],
        },
    },
    "root": {"handlers": ["console"], "level": PAVED_LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # A 403 is an answer, not a fault: one line, no traceback.
        "django.request": {"filters": ["forbidden_without_traceback"]},
        "kubernetes": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
    },
}

MESSAGE_TAGS = {40: "error", 30: "warning", 25: "success", 20: "info", 10: "debug"}

# --- Catalog ---------------------------------------------------------------------------------
# Every location is re-read on this interval; a signed push webhook refreshes a repo at once.
PAVED_CATALOG_REFRESH_MINUTES = env_int("PAVED_CATALOG_REFRESH_MINUTES", 30)
PAVED_CATALOG_ORPHAN_GRACE_HOURS = env_int("PAVED_CATALOG_ORPHAN_GRACE_HOURS", 72)
PAVED_CATALOG_MAX_FILE_BYTES = env_int("PAVED_CATALOG_MAX_FILE_BYTES", 8 * 1024 * 1024)
PAVED_CATALOG_URL_TIMEOUT = env_int("PAVED_CATALOG_URL_TIMEOUT", 10)
PAVED_CATALOG_WEBHOOK_SECRET = env_secret("PAVED_CATALOG_WEBHOOK_SECRET")
# Outbound fetches of URLs users give (url: locations, $text placeholders, TechDocs url: refs)
# go only to the configured integrations' hosts and these entries (portal/lib/outbound.py).
PAVED_OUTBOUND_ALLOWED_HOSTS = env_list("PAVED_OUTBOUND_ALLOWED_HOSTS", [])
# Deprecated: host names, now simply added to PAVED_OUTBOUND_ALLOWED_HOSTS.
PAVED_CATALOG_URL_ALLOWED_HOSTS = env_list("PAVED_CATALOG_URL_ALLOWED_HOSTS", [])


def _check_outbound_allowlist() -> None:
    from portal.lib.outbound import parse_allowlist  # local: keeps this block self-contained

    for name in ("PAVED_OUTBOUND_ALLOWED_HOSTS", "PAVED_CATALOG_URL_ALLOWED_HOSTS"):
        try:
            parse_allowlist(globals()[name])
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"{name}: {exc}; entries are host, host:port, *.domain, *, an IP address "
                "or a CIDR such as 10.0.0.0/8"
            ) from None


_check_outbound_allowlist()
# The Docs tab keeps a page fetched from a TechDocs url: ref this long (seconds).
PAVED_TECHDOCS_CACHE_SECONDS = env_int("PAVED_TECHDOCS_CACHE_SECONDS", 300)
CELERY_BEAT_SCHEDULE["catalog-refresh-locations"] = {
    "task": "catalog.refresh_locations",
    "schedule": PAVED_CATALOG_REFRESH_MINUTES * 60,
}
CELERY_BEAT_SCHEDULE["catalog-delete-orphans"] = {
    "task": "catalog.delete_orphans",
    "schedule": 3600,
}

# --- Metrics (delivery events, DORA, reports) -----------------------------------------------
# Webhook secrets and tokens (empty = that endpoint answers 403 "not configured").
PAVED_GITHUB_WEBHOOK_SECRET = env_secret("PAVED_GITHUB_WEBHOOK_SECRET")
PAVED_ARGOCD_WEBHOOK_TOKEN = env_secret("PAVED_ARGOCD_WEBHOOK_TOKEN")
PAVED_PAGERDUTY_WEBHOOK_SECRET = env_secret("PAVED_PAGERDUTY_WEBHOOK_SECRET")
PAVED_OPSGENIE_WEBHOOK_TOKEN = env_secret("PAVED_OPSGENIE_WEBHOOK_TOKEN")
PAVED_SLACK_WEBHOOK_URL = env_secret("PAVED_SLACK_WEBHOOK_URL")
# GitHub workflow_run events whose workflow name contains one of these count as deployments.
PAVED_GITHUB_DEPLOY_WORKFLOWS = env_list("PAVED_GITHUB_DEPLOY_WORKFLOWS", ["deploy"])
PAVED_DORA_BENCHMARK_YEAR = env_int("PAVED_DORA_BENCHMARK_YEAR", 2023)
PAVED_METRICS_REPORT_EMAILS = env_list("PAVED_METRICS_REPORT_EMAILS", [])
# The weekly report lists services more than this many template versions behind.
PAVED_UPGRADE_BEHIND_VERSIONS = env_int("PAVED_UPGRADE_BEHIND_VERSIONS", 2)
# How often the open upgrade pull requests are read on the git host (merged, or declined).
CELERY_BEAT_SCHEDULE["upgrades-refresh-pull-requests"] = {
    "task": "upgrades.refresh_pull_requests",
    "schedule": env_int("PAVED_UPGRADE_REFRESH_INTERVAL", 300),
}
CELERY_BEAT_SCHEDULE["metrics-weekly-report"] = {
    "task": "metrics.weekly_report",
    "schedule": crontab(minute=0, hour=7, day_of_week="mon"),
}
# Events that arrived before their component was in the catalog are linked again once the
# catalog has changed (checked this often, seconds).
CELERY_BEAT_SCHEDULE["metrics-relink-unlinked"] = {
    "task": "metrics.relink_unlinked",
    "schedule": env_int("PAVED_RELINK_INTERVAL", 300),
}
CELERY_BEAT_SCHEDULE["metrics-refresh-rollups"] = {
    "task": "metrics.refresh_rollups",
    "schedule": env_int("PAVED_ROLLUP_INTERVAL", 300),
}
# Scorecards: how often the beat job re-evaluates changed or stale components (seconds).
CELERY_BEAT_SCHEDULE["metrics-evaluate-scorecards"] = {
    "task": "metrics.evaluate_scorecards",
    "schedule": env_int("PAVED_SCORECARD_INTERVAL", 300),
}

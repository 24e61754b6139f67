"""Mailroom's settings: read once from the environment (and `.env`), typed, validated.

The real environment wins over `.env`. Every value is parsed to its real type
(`MAIL_USE_TLS=false` is False), and every problem is collected so that a
production start fails once, naming all of them, instead of one per restart.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from collections.abc import Mapping
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import load_dotenv

ROOT = Path(__file__).resolve().parent
ENVIRONMENTS = ("development", "testing", "production")
TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}

# 64 KiB: the largest form (a password twice, a token, an address) is under 2 KiB.
DEFAULT_MAX_BODY = 64 * 1024
# No form here has more than a handful of fields.
MAX_FORM_PARTS = 50
MIN_SECRET_KEY_LENGTH = 32
MIN_SECRET_KEY_DISTINCT = 10
MIN_HEALTH_TOKEN_LENGTH = 24
# Words that mark a key someone typed or copied rather than generated, found anywhere in
# its letters; the short ones only as a word of their own ("dev-...", not inside "device").
PLACEHOLDER_WORDS = ("changeme", "secret", "password", "example", "placeholder", "insecure")
PLACEHOLDER_KEYS = {"dev", "development", "test", "testing", "default", "todo"}
FLASK_DEBUG_OFF = {"", "0", "false", "no"}

MAIL_AUTH_MODES = ("password", "xoauth2")
OAUTH2_PROVIDERS = ("microsoft", "google")
OAUTH2_SETTINGS = (
    "MAIL_OAUTH2_PROVIDER",
    "MAIL_OAUTH2_TENANT",
    "MAIL_OAUTH2_CLIENT_ID",
    "MAIL_OAUTH2_CLIENT_SECRET",
    "MAIL_OAUTH2_CLIENT_CERTIFICATE",
    "MAIL_OAUTH2_REFRESH_TOKEN",
    "MAIL_OAUTH2_SCOPE",
    "MAIL_OAUTH2_AUTHORITY",
    "MAIL_OAUTH2_TOKEN_URL",
    "MAIL_OAUTH2_CA_FILE",
)
# MAIL_SERVER names that tell the OAuth2 provider when MAIL_OAUTH2_PROVIDER is not set.
OAUTH2_SERVER_HINTS = {
    "office365.com": "microsoft",
    "outlook.com": "microsoft",
    "gmail.com": "google",
    "googlemail.com": "google",
}

# Where `make run` points the app: the built-in dev catcher (`flask mail catcher`).
DEV_MAIL = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": 1025}


class ConfigError(RuntimeError):
    """Start-up refused: carries every problem found, in one message."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"Mailroom cannot start; fix these settings:\n{lines}")


class _Reader:
    """Parses named environment values, collecting problems instead of raising."""

    def __init__(self, environ: Mapping[str, str]):
        self.environ = environ
        self.problems: list[str] = []

    def raw(self, name: str) -> str | None:
        value = self.environ.get(name)
        return value.strip() if value is not None else None

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.raw(name)
        return value if value else default

    def flag(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        if value.lower() in TRUE_WORDS:
            return True
        if value.lower() in FALSE_WORDS:
            return False
        self.problems.append(f"{name}={value!r} is not a yes/no value (use true or false)")
        return default

    def number(self, name: str, default, kind=int, minimum=0):
        value = self.raw(name)
        if not value:
            return default
        try:
            parsed = kind(value)
        except ValueError:
            self.problems.append(f"{name}={value!r} is not a {kind.__name__}")
            return default
        if parsed < minimum:
            self.problems.append(f"{name}={value!r} must be at least {minimum}")
            return default
        return parsed

    def words(self, name: str, lower: bool = True) -> list[str]:
        value = self.raw(name) or ""
        return [w.strip().lower() if lower else w.strip() for w in value.split(",") if w.strip()]


def load_environment(environ: Mapping[str, str] | None = None) -> tuple[dict, list[str]]:
    """Read settings: returns (config, problems found while parsing).

    With no `environ`, `.env` beside this file is loaded first; variables
    already set in the real environment keep their values.
    """
    if environ is None:
        load_dotenv(ROOT / ".env", override=False)
        environ = os.environ
    r = _Reader(environ)
    app_env = (r.text("APP_ENV") or "production").lower()
    if app_env not in ENVIRONMENTS:
        r.problems.append(f"APP_ENV={app_env!r} must be one of {', '.join(ENVIRONMENTS)}")
        app_env = "production"
    config = {
        "APP_ENV": app_env,
        "SECRET_KEY": r.text("SECRET_KEY"),
        "APP_BASE_URL": r.text("APP_BASE_URL"),
        "SQLALCHEMY_DATABASE_URI": r.text("DATABASE_URL"),
        "MAIL_SERVER": r.text("MAIL_SERVER"),
        "MAIL_PORT": r.number("MAIL_PORT", None, minimum=1),
        "MAIL_USE_TLS": r.flag("MAIL_USE_TLS", False),
        "MAIL_USE_SSL": r.flag("MAIL_USE_SSL", False),
        "MAIL_USERNAME": r.text("MAIL_USERNAME"),
        "MAIL_PASSWORD": r.text("MAIL_PASSWORD"),
        "MAIL_DEFAULT_SENDER": r.text("MAIL_DEFAULT_SENDER"),
        "MAIL_MAX_EMAILS": r.number("MAIL_MAX_EMAILS", None, minimum=1),
        "MAIL_TIMEOUT": r.number("MAIL_TIMEOUT", 30.0, kind=float, minimum=0.1),
        "MAIL_TLS_VERIFY": r.flag("MAIL_TLS_VERIFY", True),
        "MAIL_CA_FILE": r.text("MAIL_CA_FILE"),
        "MAIL_ALLOWLIST": r.words("MAIL_ALLOWLIST"),
        "MAIL_SENDER_THREADS": r.number("MAIL_SENDER_THREADS", 2),
        # How senders sign in: "password" (MAIL_USERNAME + MAIL_PASSWORD) or "xoauth2" (an
        # OAuth2 access token for the mailbox MAIL_USERNAME; docs/providers.md).
        "MAIL_AUTH": (r.text("MAIL_AUTH") or "password").lower(),
        **{name: r.text(name) for name in OAUTH2_SETTINGS},
        # A second SMTP relay, used while the primary has a transport failure.
        "MAIL_FALLBACK_SERVER": r.text("MAIL_FALLBACK_SERVER"),
        "MAIL_FALLBACK_PORT": r.number("MAIL_FALLBACK_PORT", None, minimum=1),
        "MAIL_FALLBACK_USE_TLS": r.flag("MAIL_FALLBACK_USE_TLS", False),
        "MAIL_FALLBACK_USE_SSL": r.flag("MAIL_FALLBACK_USE_SSL", False),
        "MAIL_FALLBACK_USERNAME": r.text("MAIL_FALLBACK_USERNAME"),
        "MAIL_FALLBACK_PASSWORD": r.text("MAIL_FALLBACK_PASSWORD"),
        # Pipeline tuning; the defaults suit production.
        "MAIL_POLL_INTERVAL": r.number("MAIL_POLL_INTERVAL", 2.0, kind=float, minimum=0.01),
        "MAIL_BATCH_SIZE": r.number("MAIL_BATCH_SIZE", 50, minimum=1),
        "MAIL_MAX_ATTEMPTS": r.number("MAIL_MAX_ATTEMPTS", 10, minimum=1),
        "MAIL_RETRY_BASE": r.number("MAIL_RETRY_BASE", 30.0, kind=float),
        "MAIL_RETRY_MAX": r.number("MAIL_RETRY_MAX", 3600.0, kind=float),
        "MAIL_TRANSPORT_BACKOFF_MAX": r.number("MAIL_TRANSPORT_BACKOFF_MAX", 300.0, kind=float),
        "MAIL_GIVE_UP_AFTER": r.number("MAIL_GIVE_UP_AFTER", 3 * 24 * 3600.0, kind=float),
        "MAIL_ACCOUNT_MAILS_PER_HOUR": r.number("MAIL_ACCOUNT_MAILS_PER_HOUR", 5, minimum=1),
        # `flask mail purge` deletes finished mail (and its attempts) older than this.
        "MAIL_RETENTION_DAYS": r.number("MAIL_RETENTION_DAYS", 30, minimum=0),
        "RATELIMIT_STORAGE_URI": r.text("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_ENABLED": r.flag("RATELIMIT_ENABLED", True),
        "PROXY_FIX_HOPS": r.number("PROXY_FIX_HOPS", 0),
        # A session unused this long ends (a browser left open on a shared computer)...
        "SESSION_IDLE_MINUTES": r.number("SESSION_IDLE_MINUTES", 120, minimum=1),
        # ...and any session ends this long after its log-in (a stolen cookie kept busy).
        "SESSION_MAX_HOURS": r.number("SESSION_MAX_HOURS", 24, minimum=1),
        # Every form here is a few short fields: a larger body is refused with 413 before
        # it is read (Flask counts it; unlimited by default).
        "MAX_CONTENT_LENGTH": r.number("MAX_CONTENT_LENGTH", DEFAULT_MAX_BODY, minimum=1024),
        "HEALTH_TOKEN": r.text("HEALTH_TOKEN"),
        # Bearer token Prometheus sends for /metrics; unset = no /metrics (404).
        "METRICS_TOKEN": r.text("METRICS_TOKEN"),
        # Bounce and complaint webhooks (app/webhooks): each provider's is on once set.
        "SES_SNS_TOPIC_ARNS": r.words("SES_SNS_TOPIC_ARNS", lower=False),
        "POSTMARK_WEBHOOK_USERNAME": r.text("POSTMARK_WEBHOOK_USERNAME"),
        "POSTMARK_WEBHOOK_PASSWORD": r.text("POSTMARK_WEBHOOK_PASSWORD"),
        "POSTMARK_WEBHOOK_TOKEN": r.text("POSTMARK_WEBHOOK_TOKEN"),
        "SENDGRID_WEBHOOK_PUBLIC_KEY": r.text("SENDGRID_WEBHOOK_PUBLIC_KEY"),
        "MAILGUN_WEBHOOK_SIGNING_KEY": r.text("MAILGUN_WEBHOOK_SIGNING_KEY"),
        # A post whose signed time is further than this from now is refused as stale; its
        # nonce is remembered as long, so a replay inside the window is refused too.
        "WEBHOOK_MAX_AGE": r.number("WEBHOOK_MAX_AGE", 3600, minimum=60),
        # Read only to refuse it in production: it turns on Werkzeug's debugger under `flask`.
        "FLASK_DEBUG": _flask_debug(r.raw("FLASK_DEBUG")),
    }
    # Flask-Mail decides suppression from TESTING unless told: only pass it on when set.
    if r.raw("MAIL_SUPPRESS_SEND") is not None:
        config["MAIL_SUPPRESS_SEND"] = r.flag("MAIL_SUPPRESS_SEND", False)
    return config, r.problems


def apply_defaults(config: dict, instance_path: str) -> dict:
    """Fill what an environment may leave out; development gets a working local setup."""
    env = config["APP_ENV"]
    if env == "development":
        for key, value in DEV_MAIL.items():
            if config.get(key) is None:
                config[key] = value
        config.setdefault("APP_BASE_URL", None)
        config["APP_BASE_URL"] = config["APP_BASE_URL"] or "http://127.0.0.1:5000"
        config["MAIL_DEFAULT_SENDER"] = (
            config.get("MAIL_DEFAULT_SENDER") or "Mailroom <no-reply@mailroom.localhost>"
        )
    if env == "development" and not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = _local_secret_key(Path(instance_path) / "dev-secret-key")
    if env == "testing" and not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = secrets.token_hex(32)
    if not config.get("SQLALCHEMY_DATABASE_URI"):
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{Path(instance_path) / 'mailroom.db'}"
    if config.get("MAIL_PORT") is None:
        config["MAIL_PORT"] = 465 if config.get("MAIL_USE_SSL") else 25
    config["TESTING"] = env == "testing" or config.get("TESTING", False)
    # Werkzeug 3.1 keeps non-file form fields in memory up to this much: no more than the body.
    config.setdefault("MAX_FORM_MEMORY_SIZE", config.get("MAX_CONTENT_LENGTH"))
    config.setdefault("MAX_FORM_PARTS", MAX_FORM_PARTS)
    # Never let Flask-Mail print the SMTP dialogue: it includes the AUTH line.
    config["MAIL_DEBUG"] = 0
    # A rate-limit store that is down (Redis restarting) must not turn every form into a 500:
    # count in memory meanwhile.
    config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    return config


def _local_secret_key(path: Path) -> str:
    """Development keeps one generated key in instance/, so a code reload by the dev server
    keeps sessions and the links already in the dev mailbox working."""
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def check(config: dict) -> tuple[list[str], list[str]]:
    """Return (problems, warnings). Problems stop a production start."""
    problems: list[str] = []
    warnings: list[str] = []
    production = config["APP_ENV"] == "production"
    if production:
        problems += _required_in_production(config)
        problems += _unsafe_in_production(config)
    problems += _check_base_url(config.get("APP_BASE_URL"))
    problems += _check_sender(config.get("MAIL_DEFAULT_SENDER"))
    problems += _check_mail_auth(config)
    problems += _check_fallback(config)
    if config.get("MAIL_USE_TLS") and config.get("MAIL_USE_SSL"):
        problems.append(
            "MAIL_USE_TLS and MAIL_USE_SSL are both on: choose one "
            "(STARTTLS on port 587 is MAIL_USE_TLS; implicit TLS on 465 is MAIL_USE_SSL)"
        )
    if _credentials_in_clear(config):
        message = (
            f"MAIL_USERNAME/MAIL_PASSWORD would be sent unencrypted to {config['MAIL_SERVER']}: "
            "turn on MAIL_USE_TLS or MAIL_USE_SSL"
        )
        (problems if production else warnings).append(message)
    if config.get("MAIL_CA_FILE") and not Path(config["MAIL_CA_FILE"]).is_file():
        problems.append(f"MAIL_CA_FILE={config['MAIL_CA_FILE']!r} is not a readable file")
    warnings += _likely_mistakes(config)
    return problems, warnings


def _required_in_production(config: dict) -> list[str]:
    needed = {
        "SECRET_KEY": "signs sessions and email links",
        "APP_BASE_URL": "the public origin used in every emailed link",
        "MAIL_SERVER": "the SMTP server to send through",
        "MAIL_DEFAULT_SENDER": "the From address of every email",
    }
    return [f"{name} is not set ({why})" for name, why in needed.items() if not config.get(name)]


def _unsafe_in_production(config: dict) -> list[str]:
    problems = _check_secret_key(config.get("SECRET_KEY"))
    url = config.get("APP_BASE_URL")
    if url and not _check_base_url(url):
        parts = urlsplit(url)
        if parts.scheme != "https" and not _is_loopback(parts.hostname):
            problems.append(
                f"APP_BASE_URL={url!r} is not https: emailed links would carry tokens in clear "
                "(http is only for localhost)"
            )
    if config.get("FLASK_DEBUG"):
        problems.append(
            "FLASK_DEBUG is on: the debugger lets any visitor run code on this server; unset it"
        )
    for name in ("HEALTH_TOKEN", "METRICS_TOKEN", "POSTMARK_WEBHOOK_TOKEN"):
        token = config.get(name)
        if token and len(token) < MIN_HEALTH_TOKEN_LENGTH:
            problems.append(
                f"{name} is {len(token)} characters long: use at least "
                f"{MIN_HEALTH_TOKEN_LENGTH} random ones"
            )
    if config.get("WEBHOOK_SNS_TEST_CERT_HOSTS"):
        problems.append("WEBHOOK_SNS_TEST_CERT_HOSTS is for tests only: remove it")
    return problems


def _check_secret_key(key: str | None) -> list[str]:
    """Why the key is guessable, in words; never the key itself (it is a secret)."""
    if not key:
        return []
    how = 'generate one with: python -c "import secrets; print(secrets.token_hex(32))"'
    problems = []
    if len(key) < MIN_SECRET_KEY_LENGTH:
        problems.append(
            f"SECRET_KEY is {len(key)} characters long: use at least "
            f"{MIN_SECRET_KEY_LENGTH} random ones ({how})"
        )
    weakness = _secret_key_weakness(key)
    if weakness:
        problems.append(f"SECRET_KEY {weakness}, so it can be guessed ({how})")
    return problems


def _secret_key_weakness(key: str) -> str | None:
    letters = "".join(c for c in key.lower() if c.isalpha())
    tokens = {"".join(c for c in t if c.isalpha()) for t in re.split(r"[\W_]+", key.lower())}
    if any(word in letters for word in PLACEHOLDER_WORDS) or tokens & PLACEHOLDER_KEYS:
        return "looks like a placeholder (a word such as 'secret' or 'dev'), not a random value"
    distinct = len(set(key))
    if distinct < MIN_SECRET_KEY_DISTINCT:
        return f"has only {distinct} different characters"
    if _shortest_period(key) <= len(key) // 2:
        return "is a short pattern repeated"
    return None


def _shortest_period(text: str) -> int:
    """The length of the shortest unit that `text` repeats (its own length if none)."""
    border = [0] * len(text)  # KMP: longest proper prefix that is also a suffix
    for i in range(1, len(text)):
        k = border[i - 1]
        while k and text[i] != text[k]:
            k = border[k - 1]
        border[i] = k + (text[i] == text[k])
    return len(text) - border[-1] if text else 0


def _flask_debug(value: str | None) -> bool:
    # Flask's own reading of the variable: anything but 0/false/no turns the debugger on.
    return (value or "").lower() not in FLASK_DEBUG_OFF


def _check_base_url(url: str | None) -> list[str]:
    if not url:
        return []
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return [f"APP_BASE_URL={url!r} must be an absolute http(s) URL, e.g. https://example.com"]
    if parts.query or parts.fragment:
        return [f"APP_BASE_URL={url!r} must not carry a query or fragment"]
    return []


def _check_sender(sender: str | None) -> list[str]:
    if not sender:
        return []
    _, address = parseaddr(sender)
    if "@" not in address or any(c in sender for c in "\r\n"):
        return [f"MAIL_DEFAULT_SENDER={sender!r} is not an address like 'Name <me@example.com>'"]
    return []


def _is_loopback(host: str | None) -> bool:
    if not host:
        return True
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _credentials_in_clear(config: dict) -> bool:
    has_credentials = config.get("MAIL_USERNAME") or config.get("MAIL_PASSWORD")
    encrypted = config.get("MAIL_USE_TLS") or config.get("MAIL_USE_SSL")
    return bool(has_credentials) and not encrypted and not _is_loopback(config.get("MAIL_SERVER"))


def _likely_mistakes(config: dict) -> list[str]:
    port, warnings = config.get("MAIL_PORT"), []
    if config.get("MAIL_USE_SSL") and port == 587:
        warnings.append(
            "MAIL_USE_SSL is on with port 587, which usually speaks STARTTLS: "
            "set MAIL_USE_TLS=true and MAIL_USE_SSL=false, or use port 465"
        )
    if config.get("MAIL_USE_TLS") and port == 465:
        warnings.append(
            "MAIL_USE_TLS (STARTTLS) is on with port 465, which usually speaks implicit TLS: "
            "set MAIL_USE_SSL=true and MAIL_USE_TLS=false, or use port 587"
        )
    if not config.get("MAIL_TLS_VERIFY"):
        warnings.append(
            "MAIL_TLS_VERIFY is off: any certificate is accepted, so the SMTP password "
            "can be read by whoever sits between this host and the server"
        )
    if config.get("MAIL_ALLOWLIST"):
        warnings.append("MAIL_ALLOWLIST is set: mail to any other address is suppressed, not sent")
    return warnings


def _check_mail_auth(config: dict) -> list[str]:
    mode = config.get("MAIL_AUTH") or "password"
    if mode not in MAIL_AUTH_MODES:
        return [f"MAIL_AUTH={mode!r} must be one of {', '.join(MAIL_AUTH_MODES)}"]
    if mode != "xoauth2":
        return []
    problems, provider = [], _oauth2_provider(config)
    if provider not in OAUTH2_PROVIDERS:
        problems.append(
            "MAIL_AUTH=xoauth2 needs MAIL_OAUTH2_PROVIDER (microsoft or google)"
            + (f", not {provider!r}" if provider else "")
        )
    if not config.get("MAIL_USERNAME"):
        problems.append("MAIL_AUTH=xoauth2 needs MAIL_USERNAME: the mailbox to send as")
    if not config.get("MAIL_OAUTH2_CLIENT_ID"):
        problems.append("MAIL_AUTH=xoauth2 needs MAIL_OAUTH2_CLIENT_ID (the app's client id)")
    if provider == "microsoft":
        problems += _check_microsoft_oauth2(config)
    if provider == "google" and not (
        config.get("MAIL_OAUTH2_REFRESH_TOKEN") and config.get("MAIL_OAUTH2_CLIENT_SECRET")
    ):
        problems.append(
            "Google XOAUTH2 needs MAIL_OAUTH2_CLIENT_SECRET and MAIL_OAUTH2_REFRESH_TOKEN"
        )
    for name in ("MAIL_OAUTH2_AUTHORITY", "MAIL_OAUTH2_TOKEN_URL"):
        url = config.get(name)
        if url and urlsplit(url).scheme != "https":
            problems.append(f"{name}={url!r} must be https: the token endpoint gets a secret")
    for name in ("MAIL_OAUTH2_CA_FILE", "MAIL_OAUTH2_CLIENT_CERTIFICATE"):
        if config.get(name) and not Path(config[name]).is_file():
            problems.append(f"{name}={config[name]!r} is not a readable file")
    return problems


def _oauth2_provider(config: dict) -> str | None:
    named = (config.get("MAIL_OAUTH2_PROVIDER") or "").lower()
    if named:
        return named
    server = (config.get("MAIL_SERVER") or "").lower()
    return next((p for host, p in OAUTH2_SERVER_HINTS.items() if server.endswith(host)), None)


def _check_microsoft_oauth2(config: dict) -> list[str]:
    problems = []
    if not config.get("MAIL_OAUTH2_TENANT"):
        problems.append("Microsoft XOAUTH2 needs MAIL_OAUTH2_TENANT (the directory/tenant id)")
    has_client_key = config.get("MAIL_OAUTH2_CLIENT_SECRET") or config.get(
        "MAIL_OAUTH2_CLIENT_CERTIFICATE"
    )
    if not (has_client_key or config.get("MAIL_OAUTH2_REFRESH_TOKEN")):
        problems.append(
            "Microsoft XOAUTH2 needs MAIL_OAUTH2_CLIENT_SECRET or MAIL_OAUTH2_CLIENT_CERTIFICATE "
            "(app-only), or MAIL_OAUTH2_REFRESH_TOKEN (delegated)"
        )
    return problems


def _check_fallback(config: dict) -> list[str]:
    if not config.get("MAIL_FALLBACK_SERVER"):
        return []
    problems = []
    if config.get("MAIL_FALLBACK_USE_TLS") and config.get("MAIL_FALLBACK_USE_SSL"):
        problems.append("MAIL_FALLBACK_USE_TLS and MAIL_FALLBACK_USE_SSL are both on: choose one")
    credentials = config.get("MAIL_FALLBACK_USERNAME") or config.get("MAIL_FALLBACK_PASSWORD")
    encrypted = config.get("MAIL_FALLBACK_USE_TLS") or config.get("MAIL_FALLBACK_USE_SSL")
    server = config["MAIL_FALLBACK_SERVER"]
    production = config.get("APP_ENV") == "production"
    if credentials and not encrypted and not _is_loopback(server) and production:
        problems.append(
            f"MAIL_FALLBACK_USERNAME/PASSWORD would be sent unencrypted to {server}: turn on "
            "MAIL_FALLBACK_USE_TLS or MAIL_FALLBACK_USE_SSL"
        )
    return problems

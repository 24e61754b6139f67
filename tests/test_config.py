"""Configuration from the environment: typed values, one start-up error naming every problem
in production, warnings that name the setting, and the real environment winning over .env."""

from __future__ import annotations

import logging
import os
import re

import pytest

import config as settings
from app import create_app
from app.mail.transport import SmtpSettings

# What `secrets.token_hex(16)` gives: the shortest key production accepts.
GOOD_KEY = "9f2c4e7a1b8d3f6e0a5c2b9d4e7f1a3c"
# Everything else production needs, with nothing wrong in it.
PRODUCTION = {
    "APP_ENV": "production",
    "SECRET_KEY": GOOD_KEY,
    "APP_BASE_URL": "https://mail.example.com",
    "MAIL_SERVER": "smtp.example.com",
    "MAIL_DEFAULT_SENDER": "Mailroom <no-reply@example.com>",
}


class AskedFor(dict):
    """An environment that remembers which names were looked up."""

    def __init__(self, **values):
        super().__init__(**values)
        self.asked: set[str] = set()

    def get(self, key, default=None):
        self.asked.add(key)
        return super().get(key, default)


@pytest.fixture
def environ(monkeypatch, tmp_path):
    """A clean process environment (no .env beside it) for create_app() to read."""
    env = {"PATH": os.environ.get("PATH", ""), "DATABASE_URL": f"sqlite:///{tmp_path}/c.db"}
    monkeypatch.setattr(os, "environ", env)
    monkeypatch.setattr(settings, "ROOT", tmp_path)
    return env


def problems_of(environ: dict) -> list[str]:
    with pytest.raises(settings.ConfigError) as raised:
        create_app()
    message = str(raised.value)
    assert all(problem in message for problem in raised.value.problems)
    return raised.value.problems


def test_production_names_every_missing_setting_and_clear_text_credentials_at_once(environ):
    environ.update(
        APP_ENV="production",
        MAIL_SERVER="smtp.example.com",
        MAIL_PORT="25",
        MAIL_USERNAME="mailroom",
        MAIL_PASSWORD="secret",
    )
    problems = problems_of(environ)
    assert len(problems) == 4
    for name in ("SECRET_KEY", "APP_BASE_URL", "MAIL_DEFAULT_SENDER"):
        assert any(p.startswith(f"{name} is not set") for p in problems)
    assert any("sent unencrypted to smtp.example.com" in p for p in problems)


def test_production_names_a_missing_server_and_tls_with_ssl_at_once(environ):
    environ.update(APP_ENV="production", MAIL_USE_TLS="true", MAIL_USE_SSL="yes")
    problems = problems_of(environ)
    assert len(problems) == 5
    assert any(p.startswith("MAIL_SERVER is not set") for p in problems)
    assert any("MAIL_USE_TLS and MAIL_USE_SSL are both on" in p for p in problems)


def test_values_that_do_not_parse_are_listed_with_the_other_problems(environ):
    environ.update(APP_ENV="production", MAIL_PORT="smtp", MAIL_USE_TLS="maybe")
    problems = problems_of(environ)
    assert "MAIL_PORT='smtp' is not a int" in problems
    assert any(p.startswith("MAIL_USE_TLS='maybe' is not a yes/no value") for p in problems)
    assert any(p.startswith("SECRET_KEY is not set") for p in problems)


def test_a_complete_production_environment_starts(environ):
    environ.update(
        APP_ENV="production",
        SECRET_KEY=GOOD_KEY,
        APP_BASE_URL="https://mail.example.com",
        MAIL_SERVER="smtp.example.com",
        MAIL_PORT="587",
        MAIL_USE_TLS="true",
        MAIL_USERNAME="mailroom",
        MAIL_PASSWORD="secret",
        MAIL_DEFAULT_SENDER="Mailroom <no-reply@example.com>",
    )
    app = create_app()
    assert app.config["MAIL_PORT"] == 587 and app.config["MAIL_USE_TLS"] is True
    assert app.config["CONFIG_WARNINGS"] == []
    assert not app.testing


@pytest.mark.parametrize("word", ["false", "False", "0", "no", "off"])
def test_mail_use_tls_false_from_the_environment_is_really_off(tmp_path, word):
    config, problems = settings.load_environment(
        {"APP_ENV": "testing", "MAIL_USE_TLS": word, "MAIL_PORT": "587"}
    )
    assert problems == []
    assert config["MAIL_USE_TLS"] is False and config["MAIL_PORT"] == 587
    app = create_app({**config, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/c.db"})
    assert app.extensions["mail"].use_tls is False
    assert SmtpSettings.from_config(app.config).use_tls is False


def test_mail_use_tls_false_is_off_when_create_app_reads_the_environment(environ):
    environ.update(APP_ENV="testing", MAIL_USE_TLS="false", MAIL_TIMEOUT="2.5")
    app = create_app()
    assert app.extensions["mail"].use_tls is False
    assert app.config["MAIL_TIMEOUT"] == 2.5


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({"MAIL_USE_SSL": "true", "MAIL_PORT": "587"}, "MAIL_USE_SSL"),
        ({"MAIL_USE_TLS": "true", "MAIL_PORT": "465"}, "MAIL_USE_TLS"),
    ],
)
def test_likely_port_mistakes_are_warned_about_by_name(environ, caplog, env, setting):
    environ.update(APP_ENV="testing", **env)
    caplog.set_level(logging.WARNING, logger="mailroom")
    app = create_app()
    port = env["MAIL_PORT"]
    (warning,) = [w for w in app.config["CONFIG_WARNINGS"] if f"port {port}" in w]
    assert warning.startswith(f"{setting} ")
    assert any(warning in record.getMessage() for record in caplog.records)


def test_clear_text_credentials_to_another_host_are_only_a_warning_off_production(environ):
    environ.update(
        APP_ENV="testing", MAIL_SERVER="smtp.example.com", MAIL_USERNAME="u", MAIL_PASSWORD="p"
    )
    app = create_app()
    assert any("sent unencrypted" in w for w in app.config["CONFIG_WARNINGS"])


def test_clear_text_credentials_to_loopback_are_fine(environ):
    environ.update(
        APP_ENV="production",
        SECRET_KEY=GOOD_KEY,
        APP_BASE_URL="https://mail.example.com",
        MAIL_SERVER="127.0.0.1",
        MAIL_USERNAME="u",
        MAIL_PASSWORD="p",
        MAIL_DEFAULT_SENDER="no-reply@example.com",
    )
    assert create_app().config["CONFIG_WARNINGS"] == []


def test_the_real_environment_wins_over_dotenv(environ, tmp_path):
    (tmp_path / ".env").write_text(
        "APP_ENV=testing\nMAIL_SERVER=from-dotenv.example\nMAIL_DEFAULT_SENDER=a@b.example\n"
    )
    environ["MAIL_SERVER"] = "from-environment.example"
    config, problems = settings.load_environment()
    assert problems == []
    assert config["MAIL_SERVER"] == "from-environment.example"
    assert config["MAIL_DEFAULT_SENDER"] == "a@b.example"


def test_development_runs_with_no_settings_against_the_dev_catcher(environ):
    environ["APP_ENV"] = "development"
    app = create_app()
    assert (app.config["MAIL_SERVER"], app.config["MAIL_PORT"]) == ("127.0.0.1", 1025)
    assert app.config["APP_BASE_URL"].startswith("http://")
    assert app.config["SECRET_KEY"] and app.config["MAIL_DEBUG"] == 0


def test_every_setting_read_is_documented_in_env_example():
    env = AskedFor(APP_ENV="testing", MAIL_SUPPRESS_SEND="false")
    settings.load_environment(env)
    example = (settings.ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", example, re.MULTILINE))
    assert env.asked - documented == set()


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("a" * 31 + "b", "different characters"),
        ("k3Y!x9_Q-Wz" * 3, "short pattern repeated"),
        ("0123456789abcdef" * 2, "short pattern repeated"),
        ("change-me-change-me-please-0123456789", "placeholder"),
        ("my-super-secret-key-for-production-2024", "placeholder"),
        ("dev-8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c", "placeholder"),
    ],
)
def test_production_refuses_a_guessable_secret_key_without_printing_it(environ, key, why):
    environ.update(PRODUCTION, SECRET_KEY=key)
    (problem,) = problems_of(environ)
    assert problem.startswith("SECRET_KEY ") and why in problem
    assert key not in problem


def test_production_lists_every_unsafe_setting_in_one_error(environ):
    environ.update(
        PRODUCTION, SECRET_KEY="dev", APP_BASE_URL="http://mail.example.com", FLASK_DEBUG="1"
    )
    problems = problems_of(environ)
    assert len(problems) == 4
    assert any(p.startswith("SECRET_KEY is 3 characters long: use at least 32") for p in problems)
    assert any(p.startswith("SECRET_KEY looks like a placeholder") for p in problems)
    assert any(p.startswith("APP_BASE_URL='http://mail.example.com' is not") for p in problems)
    assert any(p.startswith("FLASK_DEBUG is on") for p in problems)


@pytest.mark.parametrize("value", ["true", "yes", "2", "on"])
def test_production_refuses_flask_debug_read_the_way_flask_reads_it(environ, value):
    environ.update(PRODUCTION, FLASK_DEBUG=value)
    assert [p.split(":")[0] for p in problems_of(environ)] == ["FLASK_DEBUG is on"]


@pytest.mark.parametrize("value", ["0", "false", "no", ""])
def test_flask_debug_off_is_fine(environ, value):
    environ.update(PRODUCTION, FLASK_DEBUG=value)
    assert create_app().config["FLASK_DEBUG"] is False


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000", "http://localhost:5000", "http://[::1]:8000"]
)
def test_production_allows_plain_http_only_on_loopback(environ, url):
    environ.update(PRODUCTION, APP_BASE_URL=url)
    assert create_app().config["APP_BASE_URL"] == url


def test_production_refuses_a_short_health_token(environ):
    environ.update(PRODUCTION, HEALTH_TOKEN="letmein")
    (problem,) = problems_of(environ)
    assert problem.startswith("HEALTH_TOKEN is 7 characters long")


def test_off_production_a_weak_key_and_http_are_allowed(environ):
    environ.update(PRODUCTION, APP_ENV="testing", SECRET_KEY="dev", FLASK_DEBUG="1")
    environ["APP_BASE_URL"] = "http://mail.example.com"
    assert create_app().config["SECRET_KEY"] == "dev"

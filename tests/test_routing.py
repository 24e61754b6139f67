"""URL building: every route builds the same URLs as werkzeug's own rules, although the app
compiles each rule's builder only when it is first used (app.routing)."""

from __future__ import annotations

import threading

from flask import url_for
from werkzeug.routing import Map, Rule

from app import create_app
from app.mail.compose import link_to
from app.routing import LazyBuilderRule
from tests.conftest import base_config

# A value of each converter's type, with characters that need quoting.
SAMPLES = {"integer": 7, "unicode": "a b/ü", "string": "a b/ü", "path": "p/q r", "any": "x"}


def _values(rule: Rule) -> dict:
    kinds = {
        name: type(c).__name__.removesuffix("Converter").lower()
        for name, c in rule._converters.items()
    }
    return {name: SAMPLES.get(kinds[name], "v") for name in rule.arguments}


def _eager_copy(url_map: Map) -> Map:
    """The same rules as plain werkzeug Rules, builders compiled as they are added."""
    return Map(
        [
            Rule(r.rule, endpoint=r.endpoint, defaults=r.defaults, methods=r.methods)
            for r in url_map.iter_rules()
        ],
        converters=url_map.converters,
    )


def _builds(url_map: Map, rule: Rule) -> tuple[str, str, str]:
    adapter = url_map.bind("mailroom.example", script_name="/base", url_scheme="https")
    values = _values(rule)
    return (
        adapter.build(rule.endpoint, values),
        adapter.build(rule.endpoint, {**values, "next": "/a b", "page": 2}, force_external=True),
        adapter.build(rule.endpoint, values, append_unknown=False),
    )


def test_every_route_builds_the_urls_werkzeug_would(tmp_path):
    app = create_app(base_config(f"sqlite:///{tmp_path / 'mailroom.db'}", APP_ENV="development"))
    eager = _eager_copy(app.url_map)
    rules = [r for r in app.url_map.iter_rules() if r.endpoint != "static"]
    assert rules and all(isinstance(r, LazyBuilderRule) for r in rules)
    for rule in rules:
        assert _builds(app.url_map, rule) == _builds(eager, rule), rule.rule


def test_links_in_mail_and_pages_are_unchanged(tmp_path):
    app = create_app(base_config(f"sqlite:///{tmp_path / 'mailroom.db'}"))
    with app.test_request_context("/"):
        assert url_for("auth.reset_password", token="t.k/n") == "/reset-password/t.k/n"
        assert link_to("auth.confirm", token="abc") == "https://mailroom.example/confirm/abc"
        assert url_for("admin.outbox", page=2) == "/admin/mail/outbox?page=2"


def test_threads_building_one_url_first_all_get_it(tmp_path):
    """Two senders may build the same link at once: each gets it whole."""
    app = create_app(base_config(f"sqlite:///{tmp_path / 'mailroom.db'}"))
    start, results = threading.Barrier(8), []

    def build() -> None:
        start.wait()
        with app.app_context():
            results.append(link_to("auth.reset_password", token="same"))

    threads = [threading.Thread(target=build) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["https://mailroom.example/reset-password/same"] * 8

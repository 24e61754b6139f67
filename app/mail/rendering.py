"""Rendering an email's templates in one language: subject, text, and HTML with its CSS
inlined (mail clients drop <style> blocks).

Flask-Babel's template callables (`_`, `gettext`, `{% trans %}`) look the catalogue up on
every call (request context, locale, domain), a dozen times a message; `speaking` binds
them to the catalogue of the language being spoken, made once per catalogue. Jinja caches
the compiled templates (and reloads them when TEMPLATES_AUTO_RELOAD or debug says so).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import css_inline
from flask import current_app
from flask_babel import get_translations
from flask_mail import BadHeaderError
from jinja2 import Template
from jinja2.ext import (
    _make_new_gettext,
    _make_new_ngettext,
    _make_new_npgettext,
    _make_new_pgettext,
)

_inliner = css_inline.CSSInliner(keep_style_tags=True)


def subject(template: str, context: dict) -> str:
    """The subject is the `subject` block of the .txt part, so it lives beside its body."""
    tmpl: Template = current_app.jinja_env.get_template(f"email/{template}.txt")
    if "subject" not in tmpl.blocks:
        raise LookupError(f"email/{template}.txt has no {{% block subject %}}")
    block = tmpl.blocks["subject"](tmpl.new_context(context))
    text = "".join(block).strip()
    # A line break here can only come from a value put in the subject: refuse it
    # (as Flask-Mail does) rather than send a subject the user did not write.
    if any(c in text for c in "\r\n\0"):
        raise BadHeaderError(f"line break in the subject of email/{template}")
    return " ".join(text.split())


def parts(template: str, context: dict) -> tuple[str, str]:
    """(text, html) of `template`, the HTML with its styles inlined."""
    env = current_app.jinja_env
    text = env.get_template(f"email/{template}.txt").render(context).strip() + "\n"
    html = env.get_template(f"email/{template}.html").render(context)
    return text, _inliner.inline(html)


def speaking(context: dict) -> dict:
    """`context` with the template callables bound to the current language's catalogue
    (call it inside app.i18n.speaking)."""
    env = current_app.jinja_env
    if not getattr(env, "newstyle_gettext", False) or "gettext" not in env.globals:
        return context  # not Flask-Babel's set-up: render as Jinja would
    bound = _bound(get_translations())
    if not bound.keys().isdisjoint(context):
        return context  # the caller brings its own: a plain render lets it win, so here too
    return {**bound, **context}


@functools.lru_cache(maxsize=16)
def _bound(translations) -> dict[str, Callable]:
    # The callables Flask-Babel installs (gettext=lambda s: get_translations().ugettext(s),
    # and so on), wrapped by Jinja's own newstyle wrappers, as install_gettext_callables
    # does: autoescaping and %-formatting stay Jinja's. Keyed by the catalogue object, one
    # per language (Flask-Babel keeps them for the life of the process).
    gettext = _make_new_gettext(translations.ugettext)
    return {
        # `_` is Jinja's alias that looks `gettext` up again on every call.
        "_": gettext,
        "gettext": gettext,
        "ngettext": _make_new_ngettext(translations.ungettext),
        "pgettext": _make_new_pgettext(translations.upgettext),
        "npgettext": _make_new_npgettext(translations.unpgettext),
    }

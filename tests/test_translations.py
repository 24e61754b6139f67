"""Every string a user can see has a German translation, and the catalogue is well-formed.

The strings are extracted from the code as it is now (as `make translations-extract` does),
so a new string that nobody translated fails here, before anyone reads it in English on a
German page.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.checkers import checkers
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from app import i18n

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}


def _strings_in_code() -> dict[str, str]:
    """msgid → first place it is used (to say where a missing one comes from)."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        found.setdefault(msgid, f"{filename}:{lineno}")
    return found


def _catalogue(language: str):
    with open(ROOT / "translations" / language / "LC_MESSAGES" / "messages.po", "rb") as po:
        return read_po(po, locale=language)


@pytest.fixture(scope="module")
def strings_in_code() -> dict[str, str]:
    return _strings_in_code()


def test_the_code_marks_strings_for_translation(strings_in_code):
    # Guards the extraction itself: a broken babel.cfg would make every check below vacuous.
    assert len(strings_in_code) > 100


@pytest.mark.parametrize("language", [lang for lang in i18n.LANGUAGES if lang != i18n.DEFAULT])
def test_every_string_in_the_code_is_translated(language, strings_in_code):
    catalogue = _catalogue(language)
    missing = []
    for msgid, where in sorted(strings_in_code.items(), key=lambda item: item[1]):
        message = catalogue.get(msgid)
        forms = message.string if message is not None else ""
        forms = forms if isinstance(forms, tuple) else (forms,)
        if message is None or message.fuzzy or not all(forms):
            missing.append(f"{where}: {msgid!r}")
    assert not missing, f"{len(missing)} strings lack a {language} translation:\n" + "\n".join(
        missing
    )


@pytest.mark.parametrize("language", [lang for lang in i18n.LANGUAGES if lang != i18n.DEFAULT])
def test_translations_keep_their_placeholders(language):
    """A translation that drops or renames %(name)s would raise at render time, in one
    language only: Babel's own checkers catch it here."""
    catalogue = _catalogue(language)
    problems = []
    for message in catalogue:
        if not message.id or not message.string:
            continue
        for check in checkers:
            try:
                check(catalogue, message)
            except Exception as error:  # noqa: BLE001 - TranslationError, reported below
                problems.append(f"{message.id!r}: {error}")
    assert not problems, "\n".join(problems)


def test_no_language_is_offered_without_a_catalogue():
    for language in i18n.LANGUAGES:
        if language != i18n.DEFAULT:
            assert (ROOT / "translations" / language / "LC_MESSAGES" / "messages.po").exists()
        assert language in i18n.LANGUAGE_NAMES

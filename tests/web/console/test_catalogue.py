"""The Arabic catalogue covers every message of the console, and the shipped ``.mo`` is compiled from it."""

from __future__ import annotations

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from sync.web.console.blueprint import HERE
from sync.web.console.i18n import LANGUAGES

ROOT = HERE.parents[2]


def extracted() -> set[str]:
    """Every message the console's code and templates mark, as ``pybabel extract`` finds them."""
    with open(HERE / "babel.cfg") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(ROOT, method_map, options_map):
        found.add(message if isinstance(message, str) else message[0])
    return found


def catalogue(language: str, kind: str):
    path = HERE / "translations" / language / "LC_MESSAGES" / f"messages.{kind}"
    with open(path, "rb") as fh:
        return read_po(fh) if kind == "po" else read_mo(fh)


def test_every_console_message_has_an_arabic_translation():
    messages = extracted()
    assert "Audit log" in messages and "Overview" in messages  # templates and code are both read
    po = catalogue("ar", "po")
    missing = sorted(m for m in messages if not (po.get(m) and po.get(m).string and not po.get(m).fuzzy))
    assert not missing, f"untranslated in ar/messages.po (pybabel update, translate, compile): {missing}"
    stale = sorted(m.id for m in po if m.id and m.id not in messages)
    assert not stale, f"messages.po keeps messages no longer used (pybabel update): {stale}"


def test_the_shipped_mo_is_compiled_from_the_po():
    po, mo = catalogue("ar", "po"), catalogue("ar", "mo")
    from_po = {m.id: m.string for m in po if m.id}
    from_mo = {m.id: m.string for m in mo if m.id}
    assert from_mo == from_po, "messages.mo is stale: pybabel compile -d sync/web/console/translations"


def test_placeholders_survive_translation():
    import re

    for m in catalogue("ar", "po"):
        if m.id:
            wanted = sorted(re.findall(r"%\(\w+\)s", m.id))
            assert sorted(re.findall(r"%\(\w+\)s", m.string)) == wanted, m.id


def test_only_languages_with_a_catalogue_are_offered():
    for language in LANGUAGES:
        if language != "en":
            assert (HERE / "translations" / language / "LC_MESSAGES" / "messages.mo").is_file()

"""The message catalogues are current, complete and safe to format.

For every domain whose template (``locale/<domain>.pot``) is committed: the template matches what
``make messages`` would extract now, and every Spanish entry is translated, not fuzzy, and keeps
the msgid's ``{placeholders}``, so a translation mistake fails here and not in a customer's report.

The ``knowledge`` domain (the offline knowledge base, thousands of sentences translated over
several sessions) may leave the entries listed in ``untranslated_knowledge_es.txt`` beside this
file untranslated; a Spanish report then shows those few in English. The list can only shrink:
a new untranslated entry fails, and so does a listed one that is now translated or gone, so the
list stays the exact to-do list. Every other domain must be complete.
"""

from __future__ import annotations

import importlib.util
import string
import sys
from pathlib import Path
from types import ModuleType

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from diagpro.adapters import messages
from diagpro.adapters.messages import CATALOGUE_LANGUAGES, DOMAINS, Messages, translations

ROOT = Path(__file__).resolve().parents[2]
ALLOWED_UNTRANSLATED = {"knowledge": Path(__file__).with_name("untranslated_knowledge_es.txt")}
TRANSLATED = [lang for lang in CATALOGUE_LANGUAGES if lang != messages.DEFAULT_LANGUAGE]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "extract_messages", ROOT / "scripts" / "extract_messages.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


extract_messages = _script()
COMMITTED = [d for d in DOMAINS if messages.template_path(d).is_file()]


def _read(path: Path, language: str | None = None) -> Catalog:
    with path.open("rb") as source:
        return read_po(source, locale=language)


def _label(message: Message) -> str:
    return str(extract_messages.label(message))


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _placeholder_problem(message: Message) -> str:
    """Why a translation's placeholders do not fit its msgid ('' when they do)."""
    ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
    strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
    wanted = set().union(*(_fields(str(text)) for text in ids))
    for text in (str(s or "") for s in strings):
        try:
            found = _fields(text)
        except ValueError as exc:
            return f"{_label(message)}: {text!r} is not a format string ({exc})"
        # A plural form may leave out {n} ("una página"), never add a name the code lacks.
        plural = len(ids) > 1
        if (found - wanted) or (not plural and found != wanted):
            return f"{_label(message)}: {text!r} has {sorted(found)}, the msgid {sorted(wanted)}"
    return ""


def test_every_domain_has_a_template() -> None:
    # Report and intake text exist on main; knowledge and codes arrive with their modules.
    assert "intake" in COMMITTED
    assert "codes" in DOMAINS


@pytest.mark.parametrize("domain", COMMITTED)
def test_the_template_is_current(domain: str) -> None:
    committed = extract_messages.keys(_read(messages.template_path(domain)))
    now = extract_messages.keys(extract_messages.extract(domain))
    new = sorted(now - committed, key=str)
    gone = sorted(committed - now, key=str)
    assert not (new or gone), (
        f"locale/{domain}.pot is out of date: run `make messages`.\n"
        f"new: {new}\nno longer in the code: {gone}"
    )


@pytest.mark.parametrize("language", TRANSLATED)
@pytest.mark.parametrize("domain", COMMITTED)
def test_every_entry_is_translated(domain: str, language: str) -> None:
    template = _read(messages.template_path(domain))
    path = messages.catalogue_path(language, domain)
    assert path.is_file(), f"{path.relative_to(ROOT)} is missing: run `make messages`"
    catalog = _read(path, language)
    missing = extract_messages.keys(template) - extract_messages.keys(catalog)
    assert not missing, f"not merged into {path.name}: run `make messages`: {sorted(missing)}"

    left = sorted(
        _label(m)
        for m in extract_messages.untranslated(catalog)
        if (m.id, m.context) in _ids(template)
    )
    allowed_file = ALLOWED_UNTRANSLATED.get(domain)
    allowed = _allowed(allowed_file) if allowed_file else set()
    new = [label for label in left if label not in allowed]
    assert not new, (
        f"{len(new)} untranslated or fuzzy in {language}/{domain}.po "
        f"(`scripts/extract_messages.py --untranslated {domain}` lists them all):\n"
        + "\n".join(new)
    )
    done = sorted(allowed - set(left))
    assert not done, (
        f"translated or gone, so take them off {allowed_file.name if allowed_file else ''}:\n"
        + "\n".join(done)
    )


def _ids(catalog: Catalog) -> set[tuple[object, str | None]]:
    return {(m.id, m.context) for m in catalog if m.id}


def _allowed(path: Path) -> set[str]:
    if not path.is_file():
        return set()
    lines = path.read_text(encoding="utf-8").splitlines()
    return {line for line in lines if line.strip() and not line.startswith("#")}


@pytest.mark.parametrize("language", TRANSLATED)
@pytest.mark.parametrize("domain", COMMITTED)
def test_translations_keep_the_placeholders(domain: str, language: str) -> None:
    catalog = _read(messages.catalogue_path(language, domain), language)
    problems = [p for m in catalog if m.id and m.string for p in [_placeholder_problem(m)] if p]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("language", TRANSLATED)
@pytest.mark.parametrize("domain", COMMITTED)
def test_each_catalogue_compiles(domain: str, language: str) -> None:
    # What Messages reads at run time: the .po compiled in memory gives back the translations.
    compiled = translations(language, domain)
    written = _read(messages.catalogue_path(language, domain), language)
    plain = [m for m in written if m.id and isinstance(m.id, str) and m.string]
    assert plain
    for message in plain:
        msgid, msgstr = str(message.id), str(message.string)
        if message.context:
            assert compiled.pgettext(message.context, msgid) == msgstr
        else:
            assert compiled.gettext(msgid) == msgstr


def test_the_placeholder_check_finds_a_mismatch() -> None:
    good = Message("{low} to {high}", "{low} a {high}")
    typo = Message("{low} to {high}", "{bajo} a {high}")
    dropped = Message("{n} pages", "páginas")
    plural = Message(("{n} page", "{n} pages"), ("una página", "{n} páginas", "{n} páginas"))
    assert _placeholder_problem(good) == ""
    assert "bajo" in _placeholder_problem(typo)
    assert _placeholder_problem(dropped)
    assert _placeholder_problem(plural) == ""


# -- the catalogue at run time ----------------------------------------------------------------


def test_intake_labels_read_in_spanish() -> None:
    t = Messages("es", "intake")
    assert t.choice("frequency", "Often") == "A menudo"
    assert t.choice("equipmentType", "Marine") == "Náutica"
    assert t("Make") == "Marca"
    assert Messages("es-MX", "intake")("Year") == "Año"


@pytest.mark.parametrize("language", ["en", "fr", "zh-Hans", "", "../../etc", "es_AR"])
def test_a_language_without_a_catalogue_reads_english(language: str) -> None:
    t = Messages(language, "intake")
    expected = "Año" if language == "es_AR" else "Year"
    assert t("Year") == expected
    assert t("{n} new", n=3) == "3 new"
    assert t.plural("{n} page", "{n} pages", 2) == "2 pages"


def test_an_unknown_domain_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown message domain"):
        Messages("es", "receipts")


def test_a_translation_with_the_wrong_placeholder_prints_english(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "es" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "report.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
        'msgid "{low} to {high}"\nmsgstr "{bajo} a {high}"\n\n'
        'msgid "Next steps"\nmsgstr "Próximos pasos"\n',
        encoding="utf-8",
    )
    monkeypatch.setattr(messages, "LOCALE_DIR", tmp_path)
    translations.cache_clear()
    try:
        t = Messages("es", "report")
        assert t("Next steps") == "Próximos pasos"
        assert t("{low} to {high}", low="$65", high="$720") == "$65 to $720"
        with pytest.raises(KeyError):
            t("Next steps {missing}", other=1)  # the code's own mistake stays loud
    finally:
        translations.cache_clear()

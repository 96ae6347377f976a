"""``make messages``: extract every message domain's template and merge it into each language.

For each domain in ``diagpro.adapters.messages.DOMAINS`` this writes
``src/diagpro/locale/<domain>.pot`` and then updates each language's
``src/diagpro/locale/<lang>/LC_MESSAGES/<domain>.po`` (created from the template when missing), for
every language in ``CATALOGUE_LANGUAGES`` but English, whose msgids are the text.
New entries arrive untranslated, near-matches arrive fuzzy, and removed ones are kept as obsolete
(``#~``) so no hand translation is lost; ``tests/unit/test_message_catalogues.py`` then lists what
a translator still has to do.

Sources, per domain:

* ``report``: the PDF adapter's Python (keywords ``t``, ``N_``, ``t.plural``, ``t.choice``) and
  its Jinja2 templates (``{{ t("...") }}``, read by ``jinja2.ext.babel_extract``);
* ``intake``: ``domain.intake.CHOICE_LABELS`` (msgctxt = the wire field) and ``FIELD_LABELS``,
  the equipment categories' labels (msgctxt ``equipmentType``), their identifier and usage
  labels, and ``domain.equipment.DETAIL_LABELS``;
* ``knowledge``: ``offline_analyzer.knowledge.translatable_texts()`` plus the offline analyzer's
  Python;
* ``codes``: ``code_book.translatable_texts()``;
* ``email``: the email adapter's Python (``adapters/email``, keyword ``t``).

A domain whose source module is not importable yet is skipped with a message, not failed.

Babel's Python API is used rather than the ``pybabel`` command so one script does every domain,
including the ones built from data: https://babel.pocoo.org/en/latest/messages.html
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "diagpro"
PROJECT = "diagpro"
COPYRIGHT = "diagpro"
BUGS_ADDRESS = ""
HEADER = """\
# diagpro's "{domain}" messages: {language}.
# Written by `make messages` (scripts/extract_messages.py); translate the msgstr lines by hand.
# The msgid is the English text. Keep every {{placeholder}} of the msgid in the msgstr."""

# Python keywords: gettext ``t("...")``, a no-op marker ``N_("...")`` for module constants,
# ``t.plural(singular, plural, n)`` (ngettext) and ``t.choice(context, msgid)`` (pgettext).
PYTHON_KEYWORDS: dict[str, Any] = {
    "t": None,
    "N_": None,
    "plural": (1, 2),
    "choice": ((1, "c"), 2),
}
PYTHON_ONLY = [("**.py", "python")]
PYTHON_AND_JINJA = [("**.py", "python"), ("**/templates/**.html", "jinja2.ext:babel_extract")]
JINJA_OPTIONS = {"**/templates/**.html": {"trim_blocks": "true", "lstrip_blocks": "true"}}

# (msgid, msgctxt, where it comes from); a plural's msgid is (singular, plural).
Message = tuple[str | tuple[str, str], str | None, str]


class DomainUnavailable(Exception):
    """A domain's source is not importable yet (another change is still writing it)."""


def _from_code(directory: Path, method_map: list[tuple[str, str]]) -> list[Message]:
    found: list[Message] = []
    extracted = extract_from_dir(
        directory,
        method_map=method_map,
        options_map=JINJA_OPTIONS,
        keywords=PYTHON_KEYWORDS,
        strip_comment_tags=True,
    )
    for filename, lineno, message, _comments, context in extracted:
        where = f"{(directory / filename).relative_to(ROOT)}:{lineno}"
        if isinstance(message, tuple):  # t.plural(singular, plural, n)
            message = (message[0], message[1])
        if message:
            found.append((message, context, where))
    return found


def _texts_of(module: str, function: str = "translatable_texts") -> list[Message]:
    try:
        source: Callable[[], Iterable[str]] = getattr(importlib.import_module(module), function)
    except (ImportError, AttributeError) as exc:
        raise DomainUnavailable(f"{module}.{function}() is not importable ({exc})") from exc
    return [(text, None, f"{module}.{function}()") for text in source() if text]


def _intake() -> list[Message]:
    from diagpro.domain.equipment import CATEGORIES, DETAIL_LABELS
    from diagpro.domain.intake import CHOICE_LABELS, FIELD_LABELS

    where = "diagpro.domain"
    found: list[Message] = []
    for field, labels in CHOICE_LABELS.items():
        found += [(label, field, f"{where}.intake.CHOICE_LABELS") for label in labels.values()]
    found += [(label, None, f"{where}.intake.FIELD_LABELS") for label in FIELD_LABELS.values()]
    for category in CATEGORIES:
        found.append((category.label, "equipmentType", f"{where}.equipment.CATEGORIES"))
        found.append((category.identifier_label, None, f"{where}.equipment.CATEGORIES"))
        found.append((category.usage_label, None, f"{where}.equipment.CATEGORIES"))
    found += [(label, None, f"{where}.equipment.DETAIL_LABELS") for label in DETAIL_LABELS.values()]
    return found


def _report() -> list[Message]:
    return _from_code(PACKAGE / "adapters" / "pdf", PYTHON_AND_JINJA)


def _knowledge() -> list[Message]:
    texts = _texts_of("diagpro.adapters.offline_analyzer.knowledge")
    return texts + _from_code(PACKAGE / "adapters" / "offline_analyzer", PYTHON_ONLY)


def _codes() -> list[Message]:
    return _texts_of("diagpro.adapters.code_book")


def _email() -> list[Message]:
    return _from_code(PACKAGE / "adapters" / "email", PYTHON_ONLY)


SOURCES: dict[str, Callable[[], list[Message]]] = {
    "report": _report,
    "intake": _intake,
    "knowledge": _knowledge,
    "codes": _codes,
    "email": _email,
}


def _catalog(domain: str, messages: Iterable[Message], created: datetime | None) -> Catalog:
    catalog = Catalog(
        domain=domain,
        project=PROJECT,
        copyright_holder=COPYRIGHT,
        msgid_bugs_address=BUGS_ADDRESS,
        creation_date=created,
        fuzzy=False,
        header_comment=HEADER.format(domain=domain, language="the template"),
    )
    for msgid, context, where in messages:
        path, _, line = where.rpartition(":")
        # A location without a line (data, not code) is written as "#: module.NAME".
        location: tuple[str, Any] = (path, int(line)) if line.isdigit() else (where, None)
        existing = catalog.get(msgid[0] if isinstance(msgid, tuple) else msgid, context)
        if existing is None:
            catalog.add(msgid, context=context, locations=[location], flags=_flags(msgid))
        elif location not in existing.locations:
            existing.locations.append(location)
    return catalog


def _flags(msgid: str | tuple[str, str]) -> tuple[str, ...]:
    # GNU gettext's flag for str.format placeholders, so msgfmt --check and editors know them.
    text = " ".join(msgid) if isinstance(msgid, tuple) else msgid
    return ("python-brace-format",) if "{" in text and "}" in text else ()


def extract(domain: str) -> Catalog:
    """The domain's template as it should be now (raises DomainUnavailable)."""
    return _catalog(domain, SOURCES[domain](), None)


def keys(catalog: Catalog) -> set[tuple[str, str | None]]:
    """(msgid, msgctxt) of every entry but the header (a plural by its singular and plural)."""
    return {(_key(m.id), m.context) for m in catalog if m.id}


def _key(msgid: object) -> str:
    return " | ".join(msgid) if isinstance(msgid, tuple | list) else str(msgid)


def label(message: Any) -> str:
    """One entry as the untranslated lists name it: ``'Often' [frequency]``."""
    where = f" [{message.context}]" if message.context else ""
    return f"{_key(message.id)!r}{where}"


def untranslated(catalog: Catalog) -> list[Any]:
    """The entries a translator still has to do: an empty msgstr (any plural form) or fuzzy."""

    def missing(message: Any) -> bool:
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        return not all(str(s or "").strip() for s in strings)

    return [m for m in catalog if m.id and (missing(m) or m.fuzzy)]


def _write(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        write_po(out, catalog, width=100, sort_output=True, include_previous=True)


def write_template(domain: str, template: Catalog) -> Path:
    """Write ``<domain>.pot``; an unchanged set of messages keeps the old creation date, so a
    re-run with nothing new only moves line numbers."""
    from diagpro.adapters.messages import template_path

    path = template_path(domain)
    if path.is_file():
        with path.open("rb") as source:
            old = read_po(source)
        if keys(old) == keys(template):
            template.creation_date = old.creation_date
    _write(template, path)
    return path


def update_language(domain: str, template: Catalog, language: str) -> Path:
    """Merge the template into one language's catalogue (created when missing)."""
    from diagpro.adapters.messages import catalogue_path

    path = catalogue_path(language, domain)
    if path.is_file():
        with path.open("rb") as source:
            catalog = read_po(source, locale=language, domain=domain)
        catalog.update(template, update_header_comment=False)
    else:
        catalog = Catalog(
            locale=language,
            domain=domain,
            project=PROJECT,
            copyright_holder=COPYRIGHT,
            fuzzy=False,
            header_comment=HEADER.format(domain=domain, language=language),
        )
        catalog.update(template)
    _write(catalog, path)
    return path


def main(argv: list[str] | None = None) -> int:
    from diagpro.adapters.messages import (
        CATALOGUE_LANGUAGES,
        DEFAULT_LANGUAGE,
        DOMAINS,
        catalogue_path,
    )

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("domains", nargs="*", help=f"some of {', '.join(DOMAINS)}; default: all")
    parser.add_argument(
        "--untranslated",
        action="store_true",
        help="only print each language's untranslated or fuzzy entries, one a line, in the form "
        "tests/unit/untranslated_knowledge_es.txt lists them",
    )
    args = parser.parse_args(argv)
    unknown = set(args.domains) - set(DOMAINS)
    if unknown:
        parser.error(f"unknown domain(s) {', '.join(sorted(unknown))}; known: {', '.join(DOMAINS)}")
    if args.untranslated:
        for domain in args.domains or DOMAINS:
            for language in CATALOGUE_LANGUAGES:
                path = catalogue_path(language, domain)
                if language != DEFAULT_LANGUAGE and path.is_file():
                    with path.open("rb") as source:
                        catalog = read_po(source, locale=language, domain=domain)
                    print(f"# {language}/{domain}.po")
                    print("\n".join(sorted(label(m) for m in untranslated(catalog))))
        return 0
    for domain in args.domains or DOMAINS:
        try:
            template = extract(domain)
        except DomainUnavailable as exc:
            print(f"{domain}: skipped, {exc}", file=sys.stderr)
            continue
        if not keys(template):
            # Nothing marked yet: writing an empty catalogue would only collide with the one
            # the domain's owner is writing.
            print(f"{domain}: skipped, no messages marked for translation", file=sys.stderr)
            continue
        pot = write_template(domain, template)
        print(f"{domain}: {len(keys(template))} messages -> {pot.relative_to(ROOT)}")
        for language in CATALOGUE_LANGUAGES:
            if language != DEFAULT_LANGUAGE:
                po = update_language(domain, template, language)
                print(f"{domain}: merged into {po.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

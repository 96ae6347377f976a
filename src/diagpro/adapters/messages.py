"""The message catalogue: every fixed text a customer reads, in their language.

GNU gettext catalogues (``src/diagpro/locale/<lang>/LC_MESSAGES/<domain>.po``) read with Babel.
The ``.po`` files are the source a translator edits; they are compiled in memory the first time a
language is asked for, so there is no compiled ``.mo`` file to forget to rebuild. The msgid is the
English text, so English needs no catalogue and an untranslated message falls back to English.

Domains keep unrelated texts apart (and their files apart, so two changes rarely touch one file):

* ``report``: the PDF's headings, labels and sentences;
* ``intake``: the intake's field and choice labels (``domain.intake.CHOICE_LABELS``);
* ``knowledge``: the offline analyzer's knowledge base;
* ``codes``: the maker code book's meanings (``adapters.code_book``);
* ``email``: the customer's emails (``adapters.email.letters``).

``make messages`` (``scripts/extract_messages.py``) re-extracts the templates (``<domain>.pot``)
and merges them into each language; ``tests/unit/test_message_catalogues.py`` fails when a
template is out of date, a Spanish entry is missing or fuzzy, or a translation's ``{placeholders}``
differ from its msgid's.

Nothing here raises while a report is rendered because of a catalogue: a language without a
catalogue, or a domain file not written yet, reads as English, and a translation whose
placeholders cannot be filled falls back to the English text rather than failing a paid job.
See https://babel.pocoo.org/en/latest/messages.html and the GNU gettext manual.
"""

from __future__ import annotations

import io
import logging
from functools import lru_cache
from gettext import NullTranslations
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

_log = logging.getLogger(__name__)

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAINS = ("report", "intake", "knowledge", "codes", "email")
DEFAULT_LANGUAGE = "en"
# Languages with a full catalogue: the report's fixed text and the offline knowledge base.
# Any other detected language still gets a model-written report, with English fixed text.
CATALOGUE_LANGUAGES = ("en", "es")


def base_language(tag: str) -> str:
    """'es-MX' -> 'es'; '' -> 'en'."""
    return (tag or DEFAULT_LANGUAGE).strip().replace("_", "-").split("-")[0].lower() or "en"


def catalogue_path(language: str, domain: str) -> Path:
    """Where the ``.po`` file of one language and domain lives (it may not exist)."""
    return LOCALE_DIR / base_language(language) / "LC_MESSAGES" / f"{domain}.po"


def template_path(domain: str) -> Path:
    """The domain's extracted template, ``locale/<domain>.pot``."""
    return LOCALE_DIR / f"{domain}.pot"


# Bounded: the language comes from a model's answer too, and any tag may arrive.
@lru_cache(maxsize=64)
def translations(language: str, domain: str) -> NullTranslations:
    """The catalogue for one language and domain (English, or a missing one: the msgids)."""
    if domain not in DOMAINS:
        raise ValueError(f"unknown message domain {domain!r}; known: {', '.join(DOMAINS)}")
    path = catalogue_path(language, domain)
    # A path-like tag ("../x") never names a catalogue: languages are letters only.
    if not base_language(language).isalpha() or not path.is_file():
        return NullTranslations()
    with path.open("rb") as source:
        catalog = read_po(source, locale=base_language(language), domain=domain)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled, domain=domain)


class Messages:
    """Fixed text in one language: ``t("Next steps")``, ``t("{n} pages", n=3)``,
    ``t.choice("frequency", "Often")`` (a context keeps short words apart)."""

    def __init__(self, language: str, domain: str) -> None:
        self.language = base_language(language)
        self._catalogue = translations(self.language, domain)

    def __call__(self, message: str, /, **values: object) -> str:
        text = self._catalogue.gettext(message)
        return _fill(text, message, values) if values else text

    def plural(self, singular: str, plural: str, n: int, /, **values: object) -> str:
        text = self._catalogue.ngettext(singular, plural, n)
        return _fill(text, singular if n == 1 else plural, {"n": n, **values})

    def choice(self, context: str, message: str) -> str:
        return self._catalogue.pgettext(context, message)


def _fill(text: str, english: str, values: dict[str, object]) -> str:
    """``text.format(**values)``; a translation naming a placeholder the code does not pass (a
    typo the catalogue test catches) prints the English text instead of failing the report."""
    try:
        return text.format(**values)
    except (KeyError, IndexError, ValueError):
        if text == english:
            raise  # the code's own msgid and values disagree: a bug to see, not to hide
        _log.warning("translation %r does not fit its placeholders; using English", text)
        return english.format(**values)

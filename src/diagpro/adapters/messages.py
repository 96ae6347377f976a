"""The message catalogue: every fixed text a customer reads, in their language.

GNU gettext catalogues (``src/diagpro/locale/<lang>/LC_MESSAGES/<domain>.po``) read with Babel.
The ``.po`` files are the source a translator edits; they are compiled in memory the first time a
language is asked for, so there is no compiled ``.mo`` file to forget to rebuild. The msgid is the
English text, so English needs no catalogue and an untranslated message falls back to English.

Domains keep unrelated texts apart (and their files apart, so two changes rarely touch one file):

* ``report``: the PDF's headings, labels and sentences;
* ``intake``: the intake's field and choice labels (``domain.intake.CHOICE_LABELS``);
* ``knowledge``: the offline analyzer's knowledge base.

``make messages`` re-extracts the templates (``<domain>.pot``) and merges them into each language;
a test fails when a catalogue is out of date or a Spanish entry is missing.
See https://babel.pocoo.org/en/latest/messages.html and the GNU gettext manual.
"""

from __future__ import annotations

import io
from functools import cache
from gettext import NullTranslations
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAINS = ("report", "intake", "knowledge", "codes")
DEFAULT_LANGUAGE = "en"
# Languages with a full catalogue: the report's fixed text and the offline knowledge base.
# Any other detected language still gets a model-written report, with English fixed text.
CATALOGUE_LANGUAGES = ("en", "es")


def base_language(tag: str) -> str:
    """'es-MX' -> 'es'; '' -> 'en'."""
    return (tag or DEFAULT_LANGUAGE).replace("_", "-").split("-")[0].lower()


@cache
def translations(language: str, domain: str) -> NullTranslations:
    """The catalogue for one language and domain (English, or a missing one: the msgids)."""
    if domain not in DOMAINS:
        raise ValueError(f"unknown message domain {domain!r}; known: {', '.join(DOMAINS)}")
    path = LOCALE_DIR / base_language(language) / "LC_MESSAGES" / f"{domain}.po"
    if not path.is_file():
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
        return text.format(**values) if values else text

    def plural(self, singular: str, plural: str, n: int, /, **values: object) -> str:
        text = self._catalogue.ngettext(singular, plural, n)
        return text.format(n=n, **values)

    def choice(self, context: str, message: str) -> str:
        return self._catalogue.pgettext(context, message)

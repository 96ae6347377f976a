"""Which language the customer wrote in, so the report is written in it.

py3langid (a maintained fork of langid.py, https://github.com/adbar/py3langid) classifies the
owner's own words: the description, symptoms, what they tried and what the shop said. Codes,
makes and model names are not language, so they are left out; a text too short to tell (only
codes, or a few words) is taken as English rather than guessed.
"""

from __future__ import annotations

import re
from functools import cache

from py3langid.langid import MODEL_FILE, LanguageIdentifier

from diagpro.domain.intake import Intake

# Languages the detector may answer; limiting the set keeps short texts from being read as a
# rare language. BCP-47 primary tags.
LANGUAGES = ("en", "es", "fr", "de", "pt", "it", "nl", "pl", "zh", "ja", "ko", "vi", "ru", "ar")
_MIN_LETTERS = 12
_MIN_PROBABILITY = 0.8
_NOT_WORDS = re.compile(r"\b[A-Z]*\d[\w/-]*\b|https?://\S+")


@cache
def _identifier() -> LanguageIdentifier:
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(LANGUAGES))
    return identifier


def _owners_words(intake: Intake) -> str:
    texts = (
        intake.problem_description,
        ". ".join(intake.symptoms),
        intake.troubleshooting_steps,
        intake.previous_repairs,
        intake.shop_recommendation,
        intake.location_environment,
    )
    return _NOT_WORDS.sub(" ", "\n".join(t for t in texts if t))


def detect_language(intake: Intake) -> str:
    """The BCP-47 primary tag of the owner's words ('es'), or 'en' when they are too few."""
    text = _owners_words(intake)
    if sum(ch.isalpha() for ch in text) < _MIN_LETTERS:
        return "en"
    language, probability = _identifier().classify(text)
    return str(language) if probability >= _MIN_PROBABILITY else "en"

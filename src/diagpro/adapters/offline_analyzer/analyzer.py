"""OfflineAnalyzer: the Analyzer port answered from the built-in knowledge base.

Used when there is no network or no model account (development, tests, an outage fallback). It is
deterministic: the same intake and codes always give the same analysis, so reports can be
regenerated and tests can compare whole outputs. It writes in the owner's language when the
catalogue has it (``CATALOGUE_LANGUAGES``), else in English, and says which (``language``).
"""

from __future__ import annotations

from typing import Protocol

from diagpro.adapters import code_book as maker_code_book
from diagpro.adapters.language import detect_language
from diagpro.adapters.messages import CATALOGUE_LANGUAGES, Messages
from diagpro.adapters.offline_analyzer import money, writer
from diagpro.adapters.offline_analyzer.codes import decoded_codes
from diagpro.adapters.offline_analyzer.context import Context
from diagpro.adapters.offline_analyzer.knowledge import knowledge
from diagpro.adapters.offline_analyzer.pricing import PRICE_DATA_CURRENCY
from diagpro.adapters.offline_analyzer.rules import analyse_findings
from diagpro.domain.analysis import Analysis, DecodedCode
from diagpro.domain.codes import DetectedCode
from diagpro.domain.intake import Intake

# Bump whenever the data or the wording changes, so a stored report says which knowledge wrote it.
VERSION = "2.0"  # 2.0: one structured analysis; owner's findings; machine fit; Spanish
MODEL_NAME = f"diagpro-offline-{VERSION}"


class CodeBook(Protocol):
    """The maker code book (``diagpro.adapters.code_book``, the default)."""

    def decode_codes(
        self, intake: Intake, codes: tuple[DetectedCode, ...], language: str
    ) -> tuple[DecodedCode, ...]: ...

    def cause_hints(self, intake: Intake, codes: tuple[DetectedCode, ...]) -> tuple[str, ...]: ...


class OfflineAnalyzer:
    def __init__(self, code_book: CodeBook | None = maker_code_book) -> None:
        # The maker code book decodes every code and points the ranking at the causes a maker's
        # code names. Without it (None, for tests of the rules alone) OBD-II and J1939 codes are
        # decoded from the built-in tables and maker codes are reported as not decoded.
        self._code_book = code_book

    def analyse(self, intake: Intake, codes: tuple[DetectedCode, ...], currency: str) -> Analysis:
        """Amounts come from the built-in price data, in US dollars whatever ``currency`` the
        submission was priced in; the analysis says so (``Analysis.currency``), and a shop quote
        in another currency is reported but not compared with them."""
        detected = detect_language(intake)
        language = detected if detected in CATALOGUE_LANGUAGES else "en"
        kb = knowledge()
        profile = kb.profiles[intake.equipment_type]
        book = self._code_book
        hints = book.cause_hints(intake, codes) if book else ()
        book_codes = book.decode_codes(intake, codes, language) if book else ()
        findings = analyse_findings(kb, profile, intake, codes, hints, book is not None, book_codes)
        ctx = Context(
            intake,
            profile,
            findings,
            kb,
            VERSION,
            currency,
            Messages(language, "knowledge"),
            Messages(language, "intake"),
        )
        advice, safety = writer.urgency(ctx)
        quote = money.quote_check(ctx)
        approval = money.approval_step(ctx, quote)
        return Analysis(
            causes=writer.causes(ctx),
            other_pct=findings.other_pct,
            urgency=advice,
            next_steps=writer.next_steps(ctx, advice.level, approval),
            detected_codes=codes,
            language=language,
            equipment_assumed=writer.equipment_assumed(ctx),
            facts_used=writer.facts_used(ctx),
            codes=book_codes if book else decoded_codes(ctx),
            ruled_out=writer.ruled_out(ctx),
            safety=safety,
            owner_checks=writer.owner_checks(ctx),
            shop_tests=writer.shop_tests(ctx),
            do_not=writer.do_not(ctx),
            costs=money.costs(ctx),
            labour_rate_cents=profile.labour_usd * 100,
            quote_check=quote,
            shop_questions=writer.shop_questions(ctx),
            how_it_works=ctx.t(ctx.top.cause.explain),
            sources=writer.sources(ctx),
            data_needed=writer.data_needed(ctx),
            model=MODEL_NAME,
            offline=True,
            currency=PRICE_DATA_CURRENCY,
        ).check()

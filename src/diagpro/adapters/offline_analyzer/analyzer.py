"""OfflineAnalyzer: the Analyzer port answered from the built-in knowledge base.

Used when there is no network or no model account (development, tests, an outage fallback). It is
deterministic: the same intake and codes always give the same analysis, so reports can be
regenerated and tests can compare whole outputs.
"""

from __future__ import annotations

from diagpro.adapters.offline_analyzer.context import Context
from diagpro.adapters.offline_analyzer.facts import build_facts
from diagpro.adapters.offline_analyzer.knowledge import knowledge
from diagpro.adapters.offline_analyzer.pricing import PRICE_DATA_CURRENCY
from diagpro.adapters.offline_analyzer.rules import analyse_findings
from diagpro.adapters.offline_analyzer.writer import write_sections
from diagpro.domain.analysis import SECTION_KEYS, Analysis
from diagpro.domain.codes import DetectedCode
from diagpro.domain.intake import Intake

# Bump whenever the data or the wording changes, so a stored report says which knowledge wrote it.
VERSION = "1.2"  # 1.2: a quote in another currency than the price data is not compared
MODEL_NAME = f"diagpro-offline-{VERSION}"


class OfflineAnalyzer:
    def analyse(self, intake: Intake, codes: tuple[DetectedCode, ...], currency: str) -> Analysis:
        """Amounts come from the built-in price data, in US dollars whatever ``currency`` the
        submission was priced in; the analysis says so (``Analysis.currency``), and a shop quote
        in another currency is reported but not compared with them."""
        kb = knowledge()
        profile = kb.profiles[intake.equipment_type]
        findings = analyse_findings(kb, profile, intake, codes)
        context = Context(intake, profile, findings, kb, VERSION, currency)
        facts = build_facts(context)
        return Analysis(
            most_likely_cause=findings.ranked[0].cause.name,
            confidence_pct=findings.confidence,
            sections=write_sections(context, facts, SECTION_KEYS),
            detected_codes=codes,
            data_needed=findings.data_needed,
            model=MODEL_NAME,
            prompt_tokens=0,
            output_tokens=0,
            offline=True,
            urgency=facts.urgency,
            safety_flags=facts.safety_flags,
            ranked_causes=facts.causes,
            shop_tests=facts.tests,
            costs=facts.costs,
            shop_questions=facts.questions,
            next_steps=facts.next_steps,
            currency=PRICE_DATA_CURRENCY,
        ).check()

"""Named repair jobs: every wide repair is priced as narrow jobs a technician would name, and the
shop's written job is priced like for like."""

from __future__ import annotations

import pytest

from diagpro.adapters.offline_analyzer.jobs import (
    WORST_CASE,
    as_written,
    chosen,
    jobs_for,
    named_jobs,
    worst_case_jobs,
)
from diagpro.adapters.offline_analyzer.knowledge import Profile, knowledge, translatable_texts
from diagpro.adapters.offline_analyzer.pricing import MAX_SPREAD
from diagpro.adapters.offline_analyzer.rules import normalise

# The least a shop bills for a job with no part: about half an hour.
_BENCH_CHARGE = 60


def _uses() -> list[tuple[str, str, Profile]]:
    """(category, cause id, profile) for every cause a category can rank."""
    kb = knowledge()
    return [(p.key, c.id, p) for p in kb.profiles.values() for c in kb.causes_for(p)]


def test_every_job_is_narrow_at_every_rate_that_uses_it() -> None:
    kb = knowledge()
    wide = []
    for category, cause_id, profile in _uses():
        cause = kb.causes[cause_id]
        for job in (*jobs_for(cause), *worst_case_jobs(cause)):
            low, high = job.priced(profile).total
            if not (low > 0 and high <= MAX_SPREAD * low):
                wide.append(f"{category}/{cause_id}: {job.name} ${low}-${high}")
    assert wide == []


def test_no_cause_needs_the_old_split_and_named_jobs_cover_its_range() -> None:
    """A cause whose own repair spans too wide has named jobs, and together they reach from its
    cheapest fix to its dearest (the old range is covered, not narrowed away)."""
    kb = knowledge()
    for _, cause_id, profile in _uses():
        cause = kb.causes[cause_id]
        jobs = named_jobs().get(cause_id)
        if jobs is None:
            continue
        rate = profile.labour_usd
        old_low = cause.parts_usd[0] + cause.labor_hours[0] * rate
        old_high = cause.parts_usd[1] + cause.labor_hours[1] * rate
        totals = [j.priced(profile).total for j in jobs]
        # The cheapest job starts near the old range's bottom (a shop bills at least a short
        # bench charge, even where the part is free), the dearest reaches near its top.
        assert min(t[0] for t in totals) <= max(1.5 * old_low, old_low + _BENCH_CHARGE), cause_id
        assert max(t[1] for t in totals) >= 0.75 * old_high, cause_id


def test_named_jobs_are_short_known_and_exported_for_translation() -> None:
    kb = knowledge()
    texts = set(translatable_texts())
    for key, jobs in named_jobs().items():
        cause_id = key.removesuffix(WORST_CASE)
        assert cause_id in kb.causes, key
        if key.endswith(WORST_CASE):
            assert kb.causes[cause_id].worst_case is not None, key
        for job in jobs:
            assert len(job.name) <= 70 and job.name in texts, job.name
            assert job.parts[0] <= job.parts[1] and job.hours[0] <= job.hours[1], job.name


@pytest.mark.parametrize(
    ("cause_id", "shop_words", "expected"),
    [
        ("pressure_switch", "Replace inducer motor", "Replace the inducer motor"),
        ("pressure_switch", "new pressure switch", "Replace the pressure switch"),
        ("turbo_boost", "replace VGT actuator", "Replace the VGT actuator"),
        ("turbo_boost", "Replace turbo", "Replace the turbocharger"),
        (
            "catalytic_converter",
            "Replace catalytic converter with an OEM part",
            "Replace the catalytic converter, CARB-legal or OEM part",
        ),
    ],
)
def test_the_shop_s_words_name_one_job(cause_id: str, shop_words: str, expected: str) -> None:
    cause = knowledge().causes[cause_id]
    assert as_written(cause, normalise(shop_words)).name == expected


def test_the_costed_jobs_are_the_ones_the_owner_names_else_the_cheapest() -> None:
    cause = knowledge().causes["turbo_boost"]
    cheapest = chosen(cause, normalise("loss of power"), 2)
    assert [j.name for j in cheapest] == [
        "Clamp or replace a leaking boost hose",
        "Replace the charge-air cooler",
    ]
    named = chosen(cause, normalise("whistle from the turbo, loss of power"), 2)
    assert [j.name for j in named] == [
        "Clamp or replace a leaking boost hose",
        "Replace the turbocharger",
    ]


def test_a_narrow_cause_is_its_own_single_job() -> None:
    kb = knowledge()
    narrow = [c for c in kb.causes.values() if c.id not in named_jobs()]
    for cause in narrow:
        (job,) = jobs_for(cause)
        assert (job.name, job.parts, job.hours) == (
            cause.repair,
            cause.parts_usd,
            cause.labor_hours,
        )

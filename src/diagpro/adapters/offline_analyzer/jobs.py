"""Named repair jobs: how a technician prices a cause's repair ("Replace the VGT actuator"),
instead of one range from the cheapest fix to the dearest.

``data/jobs.json`` lists, for every cause whose single repair range would be too wide to judge a
quote with, the jobs a shop actually does, cheapest (or first to try) first, each narrow enough
(high at most ``MAX_SPREAD`` times low at every category's labour rate). A cause without named
jobs is one job: its own repair at its own range, already narrow. The worst case of a cause is
keyed ``<cause id>.worst_case``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from diagpro.adapters.offline_analyzer.knowledge import Cause, Profile
from diagpro.adapters.offline_analyzer.pricing import Job, price
from diagpro.adapters.offline_analyzer.rules import find

_PACKAGE = "diagpro.adapters.offline_analyzer"
WORST_CASE = ".worst_case"


@dataclass(frozen=True)
class RepairJob:
    name: str  # an English msgid, a technician's words
    parts: tuple[int, int]  # whole US dollars
    hours: tuple[float, float]  # book labour
    terms: tuple[str, ...] = ()  # how an owner or a shop's estimate names it (rule words)

    def priced(self, profile: Profile, quantity: int = 1) -> Job:
        """The job for ``quantity`` units: parts times the quantity, labour for the first unit
        plus a third for each further one (they share the access work)."""
        factor = 1 + (quantity - 1) / 3
        return price(
            self.name,
            (self.parts[0] * quantity, self.parts[1] * quantity),
            (round(self.hours[0] * factor, 2), round(self.hours[1] * factor, 2)),
            profile,
        )


@cache
def named_jobs() -> dict[str, tuple[RepairJob, ...]]:
    """Every named job in ``data/jobs.json`` by cause id (``<id>.worst_case`` for worst cases)."""
    raw = json.loads(resources.files(_PACKAGE).joinpath("data", "jobs.json").read_text("utf-8"))
    return {
        key: tuple(
            RepairJob(
                j["name"],
                (int(j["parts"][0]), int(j["parts"][1])),
                (float(j["hours"][0]), float(j["hours"][1])),
                tuple(j.get("terms", ())),
            )
            for j in entries
        )
        for key, entries in raw.items()
        if not key.startswith("_")
    }


def jobs_for(cause: Cause) -> tuple[RepairJob, ...]:
    """The cause's named jobs, or its repair as the one job."""
    return named_jobs().get(cause.id) or (
        RepairJob(cause.repair, cause.parts_usd, cause.labor_hours, cause.terms),
    )


def worst_case_jobs(cause: Cause) -> tuple[RepairJob, ...]:
    if cause.worst_case is None:
        return ()
    name, parts_low, parts_high, hours_low, hours_high = cause.worst_case
    return named_jobs().get(cause.id + WORST_CASE) or (
        RepairJob(name, (parts_low, parts_high), (hours_low, hours_high)),
    )


def chosen(cause: Cause, text: str, limit: int) -> tuple[RepairJob, ...]:
    """The jobs the report prices for a cause, at most ``limit``: first those the owner's words
    name (``text``, normalised), then the rest in the data's order (the cheapest, or first to
    try); printed in the data's order so the cheapest reads first."""
    jobs = jobs_for(cause)
    named = [j for j in jobs if any(find(term, text) for term in j.terms)]
    picked = set((named + [j for j in jobs if j not in named])[:limit])
    return tuple(j for j in jobs if j in picked)


def as_written(cause: Cause, text: str) -> RepairJob:
    """The one job a shop's written words (``text``, normalised) name for this cause: the last
    job in the data's order whose terms match, since the later jobs are the dearer, more specific
    variants ("replace the catalytic converter with an OEM part" is the OEM-part job, not the
    direct-fit one); the first job when the words name none of them."""
    jobs = jobs_for(cause)
    named = [j for j in jobs if any(find(term, text) for term in j.terms)]
    return named[-1] if named else jobs[0]


def job_names() -> tuple[str, ...]:
    """The named jobs' names: msgids of the ``knowledge`` catalogue."""
    return tuple(dict.fromkeys(j.name for jobs in named_jobs().values() for j in jobs))

"""The Firestore queries diagpro builds that need a composite index, declared as data.

Firestore serves a query that filters on more than one field, or filters on one field and orders
by another, only from a composite index created beforehand; without it the query fails with
FailedPrecondition ("The query requires an index"), and the emulator never enforces this
(https://firebase.google.com/docs/firestore/query-data/indexing). So the adapters build such
queries from the declarations below, ``deploy/firestore.indexes.json`` lists the index each one
needs (a unit test checks it covers every declaration), and ``diagpro doctor`` runs them against
the real database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class IndexedQuery:
    """``collection`` filtered by equality on ``equal``, then by a range on ``ordered[0]``
    (when ``range_filter``), ordered by ``ordered``: its composite index is the equality fields
    followed by the ordered ones, all ascending."""

    name: str
    collection: str
    equal: tuple[str, ...]
    ordered: tuple[str, ...]
    range_filter: bool
    # Ordered newest first: a composite index serves one direction only, so its ordered fields
    # are declared DESCENDING (https://firebase.google.com/docs/firestore/query-data/index-overview).
    descending: bool = False

    @property
    def order(self) -> str:
        return "DESCENDING" if self.descending else "ASCENDING"

    def index(self) -> dict[str, Any]:
        """The index in the format of ``firestore.indexes.json`` (Firebase CLI)."""
        return {
            "collectionGroup": self.collection,
            "queryScope": "COLLECTION",
            "fields": [
                *({"fieldPath": field, "order": "ASCENDING"} for field in self.equal),
                *({"fieldPath": field, "order": self.order} for field in self.ordered),
            ],
        }

    def gcloud_create(self, project: str, database: str) -> str:
        """The command that creates the index (https://cloud.google.com/sdk/gcloud/reference/
        firestore/indexes/composite/create)."""
        fields = " ".join(
            f"--field-config=field-path={field},order={order.lower()}"
            for field, order in (
                *((field, "ASCENDING") for field in self.equal),
                *((field, self.order) for field in self.ordered),
            )
        )
        return (
            f"gcloud firestore indexes composite create --project={project} "
            f"--database='{database}' --collection-group={self.collection} "
            f"--query-scope=collection {fields}"
        )


# Due jobs, earliest first, ties in order of arrival: ``state == "queued" AND due_at <= now
# ORDER BY due_at, arrived LIMIT n`` (claim, due, next_due in jobs.py).
DUE_JOBS = IndexedQuery(
    name="due jobs",
    collection="jobs",
    equal=("state",),
    ordered=("due_at", "arrived"),
    range_filter=True,
)

# Submissions whose personal data is due for erasure, least recently changed first:
# ``erasable == true AND updatedAt < cutoff ORDER BY updatedAt LIMIT n`` (due_for_erasure in
# submissions.py). ``erasable`` is written with every submission: not erased and not in flight.
ERASABLE_SUBMISSIONS = IndexedQuery(
    name="submissions due for erasure",
    collection="diagnosticSubmissions",
    equal=("erasable",),
    ordered=("updatedAt",),
    range_filter=True,
)

# The operator's list of recent orders of one status, most recently changed first:
# ``status == s [AND updatedAt >= since] ORDER BY updatedAt DESC LIMIT n`` (recent_query in
# submissions.py; one query per status asked for, merged).
RECENT_BY_STATUS = IndexedQuery(
    name="recent submissions of a status",
    collection="diagnosticSubmissions",
    equal=("status",),
    ordered=("updatedAt",),
    range_filter=True,
    descending=True,
)

QUERIES: tuple[IndexedQuery, ...] = (DUE_JOBS, ERASABLE_SUBMISSIONS, RECENT_BY_STATUS)


def indexes_file() -> dict[str, Any]:
    """What ``deploy/firestore.indexes.json`` must hold."""
    return {"indexes": [query.index() for query in QUERIES], "fieldOverrides": []}

"""``deploy/firestore.indexes.json`` holds every composite index the Firestore adapters' queries
need. Production refuses a query without its index (FailedPrecondition) while the emulator
answers it anyway, so only a check like this one finds a missing index before customers do."""

from __future__ import annotations

import ast
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore
from google.cloud.firestore_v1.types import StructuredQuery

from diagpro.adapters.firestore import FirestoreJobQueue, FirestoreSubmissionStore
from diagpro.adapters.firestore.indexes import (
    DUE_JOBS,
    ERASABLE_SUBMISSIONS,
    QUERIES,
    RECENT_BY_STATUS,
    indexes_file,
)
from diagpro.domain.submission import Status
from tests.doubles import CountingIds

ROOT = Path(__file__).resolve().parents[2]
INDEXES = ROOT / "deploy" / "firestore.indexes.json"
ADAPTERS = ROOT / "src" / "diagpro" / "adapters" / "firestore"

# Functions of the Firestore adapters that build a query, and why each needs no composite index
# or which declaration it follows. A new query must be added here on purpose.
QUERY_BUILDERS = {
    "due_query": "DUE_JOBS",
    "jobs_for": "one equality filter: Firestore's automatic single-field index",
    "erasure_query": "ERASABLE_SUBMISSIONS",
    "with_email": "one equality filter (emailKey): Firestore's automatic single-field index",
    "recent_query": "RECENT_BY_STATUS (without a status: updatedAt alone, single-field index)",
    "awaiting_report": "one `in` filter (status): Firestore's automatic single-field index",
}


def _shipped() -> list[dict[str, Any]]:
    indexes: list[dict[str, Any]] = json.loads(INDEXES.read_text(encoding="utf-8"))["indexes"]
    return indexes


def _needed_by(query: Any) -> dict[str, Any]:
    """The composite index a built query needs: its equality fields, then its ordered fields
    (https://firebase.google.com/docs/firestore/query-data/index-overview)."""
    equal = [
        f.field.field_path
        for f in query._field_filters
        if f.op == StructuredQuery.FieldFilter.Operator.EQUAL
    ]
    ordered = [
        {
            "fieldPath": order.field.field_path,
            "order": StructuredQuery.Direction(order.direction).name,
        }
        for order in query._orders
    ]
    return {
        "collectionGroup": query._parent.id,
        "queryScope": "COLLECTION",
        "fields": [*({"fieldPath": f, "order": "ASCENDING"} for f in equal), *ordered],
    }


def test_the_file_is_the_declared_indexes() -> None:
    assert json.loads(INDEXES.read_text(encoding="utf-8")) == indexes_file(), (
        "deploy/firestore.indexes.json differs from adapters/firestore/indexes.py; rewrite it "
        "from indexes_file()"
    )
    assert [q.index() for q in QUERIES] == _shipped()


def test_the_claim_query_as_built_is_covered_by_the_file() -> None:
    client = firestore.Client(project="demo-indexes", credentials=AnonymousCredentials())
    queue = FirestoreJobQueue(client, CountingIds())

    query = queue.due_query(datetime(2026, 12, 1, tzinfo=UTC), 5)

    needed = _needed_by(query)
    assert needed == DUE_JOBS.index()
    assert needed in _shipped()
    ranges = [
        f.field.field_path
        for f in query._field_filters
        if f.op != StructuredQuery.FieldFilter.Operator.EQUAL
    ]
    assert ranges == [DUE_JOBS.ordered[0]]  # the range filter is on the first ordered field
    assert query._limit == 5


def test_the_erasure_query_as_built_is_covered_by_the_file() -> None:
    client = firestore.Client(project="demo-indexes", credentials=AnonymousCredentials())
    store = FirestoreSubmissionStore(client)

    query = store.erasure_query(datetime(2026, 12, 1, tzinfo=UTC), 7)

    needed = _needed_by(query)
    assert needed == ERASABLE_SUBMISSIONS.index()
    assert needed in _shipped()
    ranges = [
        f.field.field_path
        for f in query._field_filters
        if f.op != StructuredQuery.FieldFilter.Operator.EQUAL
    ]
    assert ranges == [ERASABLE_SUBMISSIONS.ordered[0]]
    assert query._limit == 7


def test_the_recent_orders_query_of_a_status_is_covered_by_the_file() -> None:
    client = firestore.Client(project="demo-indexes", credentials=AnonymousCredentials())
    store = FirestoreSubmissionStore(client)

    query = store.recent_query(20, datetime(2026, 12, 1, tzinfo=UTC), Status.PAID)

    needed = _needed_by(query)
    assert needed == RECENT_BY_STATUS.index()
    assert needed in _shipped()
    assert needed["fields"][-1] == {"fieldPath": "updatedAt", "order": "DESCENDING"}
    assert query._limit == 20


def test_the_recent_orders_query_of_any_status_needs_no_composite_index() -> None:
    client = firestore.Client(project="demo-indexes", credentials=AnonymousCredentials())
    query = FirestoreSubmissionStore(client).recent_query(20, None, None)

    assert _needed_by(query)["fields"] == [{"fieldPath": "updatedAt", "order": "DESCENDING"}]


def test_every_query_the_firestore_adapters_build_is_known() -> None:
    builders = set()
    for path in ADAPTERS.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef):
                continue
            calls = {
                node.func.attr
                for node in ast.walk(function)
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            }
            if calls & {"where", "order_by"}:
                builders.add(function.name)
    assert builders == set(QUERY_BUILDERS), (
        "a Firestore adapter builds a query not listed in QUERY_BUILDERS: declare it in "
        "adapters/firestore/indexes.py if it filters on two fields or orders, and ship its index"
    )


def test_the_fix_command_creates_that_index() -> None:
    command = DUE_JOBS.gcloud_create("my-project", "(default)")
    assert command.startswith("gcloud firestore indexes composite create --project=my-project")
    assert "--collection-group=jobs" in command
    fields = [part.split("=", 1)[1] for part in command.split() if part.startswith("--field-c")]
    assert fields == [
        "field-path=state,order=ascending",
        "field-path=due_at,order=ascending",
        "field-path=arrived,order=ascending",
    ]

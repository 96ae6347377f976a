"""Stored submissions of the first layout still read, as the current shape.

``stored/submission_v1.json`` is a real format-1 document: what the release before the
structured analysis wrote for ``tests.builders.make_rich_submission()`` (its 15 prose sections,
``ranked_causes`` with ``reasoning``, ``urgency`` and ``safety_flags``, cost notes).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from diagpro.adapters.codec import (
    FORMAT_KEY,
    FORMAT_VERSION,
    DocumentDecodeError,
    submission_from_document,
    submission_from_json,
    submission_to_document,
)
from diagpro.adapters.codec_upgrades import URGENCY_REASON
from diagpro.domain.analysis import Urgency
from diagpro.domain.submission import Status
from tests.builders import make_rich_submission

V1 = Path(__file__).with_name("stored") / "submission_v1.json"


def _v1() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(V1.read_text(encoding="utf-8"))
    assert document[FORMAT_KEY] == 1
    return document


def test_a_current_submission_round_trips_at_the_current_format() -> None:
    original = make_rich_submission()
    document = submission_to_document(original)
    assert document[FORMAT_KEY] == FORMAT_VERSION == 2
    assert submission_from_document(document) == original


def test_a_stored_v1_submission_reads_as_the_new_shape() -> None:
    old = _v1()
    submission = submission_from_json(V1.read_bytes())

    assert submission.id == old["id"]
    assert submission.status is Status.FAILED
    assert submission.intake.make == "Ford" and submission.intake.urgency_level == "high"
    analysis = submission.analysis
    assert analysis is not None
    assert analysis.check() is analysis  # renderable: the new rules hold
    assert analysis.language == "en"

    ranked = old["analysis"]["ranked_causes"]
    assert [c.cause for c in analysis.causes] == [c["cause"] for c in ranked]
    assert [c.likelihood_pct for c in analysis.causes] == [62, 21, 9]
    assert analysis.other_pct == 8
    assert analysis.confidence_pct == 62
    assert analysis.causes[0].why == ranked[0]["reasoning"]
    assert analysis.causes[0].evidence_for == tuple(ranked[0]["evidence"])

    assert analysis.urgency.level is Urgency.SOON
    assert analysis.urgency.reason == URGENCY_REASON
    assert analysis.safety == tuple(old["analysis"]["safety_flags"])
    assert analysis.next_steps == tuple(old["analysis"]["next_steps"])
    assert analysis.shop_questions == tuple(old["analysis"]["shop_questions"])
    assert [t.name for t in analysis.shop_tests] == [
        t["name"] for t in old["analysis"]["shop_tests"]
    ]
    assert [c.repair for c in analysis.costs] == [c["repair"] for c in old["analysis"]["costs"]]
    assert [c.cause_index for c in analysis.costs] == [0, -1, -1]
    assert analysis.cost_range_cents == (20500, 69000)
    assert not analysis.worst_cases
    assert analysis.detected_codes and analysis.detected_codes[0].code == "P0301"
    assert analysis.model == old["analysis"]["model"]
    sections = {s["key"]: s for s in old["analysis"]["sections"]}
    assert analysis.how_it_works == sections["technical_education"]["summary"]
    assert analysis.sources == tuple(sections["source_verification"]["points"])


def test_an_upgraded_submission_is_written_back_at_the_current_format() -> None:
    submission = submission_from_json(V1.read_bytes())
    document = submission_to_document(submission)
    assert document[FORMAT_KEY] == FORMAT_VERSION
    assert "sections" not in document["analysis"]
    assert submission_from_document(document) == submission


def test_a_v1_analysis_without_ranked_causes_keeps_its_verdict() -> None:
    # The first offline analyzer wrote only the most likely cause and a confidence.
    document = _v1()
    document["analysis"]["ranked_causes"] = []
    document["analysis"]["next_steps"] = []
    analysis = submission_from_document(document).analysis
    assert analysis is not None
    old = document["analysis"]
    assert [(c.cause, c.likelihood_pct) for c in analysis.causes] == [
        (old["most_likely_cause"], old["confidence_pct"])
    ]
    assert analysis.other_pct == 100 - old["confidence_pct"]
    summary = {s["key"]: s for s in old["sections"]}["next_steps_summary"]
    assert analysis.next_steps == tuple(summary["points"][:3])
    assert analysis.check() is analysis


def test_v1_likelihoods_over_100_are_scaled_to_a_distribution() -> None:
    document = _v1()
    for cause in document["analysis"]["ranked_causes"]:
        cause["likelihood_pct"] = 60
    analysis = submission_from_document(document).analysis
    assert analysis is not None
    assert [c.likelihood_pct for c in analysis.causes] == [33, 33, 33]
    assert analysis.other_pct == 1


def test_a_v1_submission_without_an_analysis_upgrades() -> None:
    document = _v1()
    document["analysis"] = None
    assert submission_from_document(document).analysis is None


def test_a_broken_v1_analysis_is_a_decode_error_not_a_crash() -> None:
    document = copy.deepcopy(_v1())
    document["analysis"]["urgency"] = "whenever"
    with pytest.raises(DocumentDecodeError, match="invalid"):
        submission_from_document(document)


def test_a_document_from_a_newer_release_is_refused() -> None:
    document = submission_to_document(make_rich_submission())
    document[FORMAT_KEY] = FORMAT_VERSION + 1
    with pytest.raises(DocumentDecodeError, match="newer release"):
        submission_from_document(document)


def test_refunds_disputes_and_the_checkout_attempt_round_trip() -> None:
    from dataclasses import replace
    from datetime import UTC, datetime

    from diagpro.domain.payment import Dispute
    from diagpro.domain.submission import CheckoutAttempt

    at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    original = replace(
        make_rich_submission(),
        checkout_attempt=CheckoutAttempt(2, at),
        refunded_cents=100,
        refund_ids=("re_a", "re_b"),
        disputes=(Dispute("du_1", 499, "usd", "fraudulent", "lost", "ch_1", "pi_1", at),),
    )
    assert submission_from_json(json.dumps(submission_to_document(original))) == original


def test_operator_actions_round_trip_and_a_document_without_them_reads() -> None:
    """A document stored before actions were recorded (SQLite's JSON, a Firestore document:
    both are this document) has no ``actions`` and reads as none."""
    from dataclasses import replace
    from datetime import UTC, datetime

    from diagpro.domain.actions import ActionKind, OperatorAction

    at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    action = OperatorAction(at, ActionKind.RAN_NOW, "ana", "job j1 due now")
    original = replace(make_rich_submission(), actions=(action,))
    document = submission_to_document(original)
    assert document["actions"] == [
        {"at": "2026-12-01T09:30:00Z", "what": "ran now", "by": "ana", "detail": "job j1 due now"}
    ]
    assert submission_from_json(json.dumps(document)) == original

    del document["actions"]
    assert submission_from_document(document).actions == ()


def _written_the_careful_way(submission: Any) -> dict[str, Any]:
    """Every value visited and each datetime turned to UTC text by encode_datetime."""
    from datetime import datetime

    import msgspec

    from diagpro.adapters.codec import _to_plain

    document: dict[str, Any] = _to_plain(msgspec.to_builtins(submission, builtin_types=(datetime,)))
    document[FORMAT_KEY] = FORMAT_VERSION
    return document


def test_the_quick_encoding_writes_what_the_careful_one_does() -> None:
    """UTC times are written by msgspec in C; the text must be encode_datetime's, to the
    character, with microseconds and without."""
    from dataclasses import replace
    from datetime import UTC, datetime

    rich = make_rich_submission()
    for at in (datetime(2026, 12, 1, 9, 30, tzinfo=UTC), datetime(2026, 12, 1, 9, 30, 0, 12, UTC)):
        submission = replace(rich, created_at=at, updated_at=at)
        assert submission_to_document(submission) == _written_the_careful_way(submission)


def test_the_stored_text_is_the_document() -> None:
    """submission_to_json writes the document in one pass: the same fields and values as
    submission_to_document, and it reads back as the same submission."""
    from dataclasses import replace
    from datetime import datetime, timedelta, timezone

    import msgspec

    from diagpro.adapters.codec import submission_from_json, submission_to_json

    rich = make_rich_submission()
    paris = datetime(2026, 12, 1, 10, 30, tzinfo=timezone(timedelta(hours=1)))
    for submission in (rich, replace(rich, updated_at=paris)):
        text = submission_to_json(submission)
        assert msgspec.json.decode(text) == submission_to_document(submission)
        assert submission_from_json(text).updated_at == submission.updated_at


def test_a_time_in_another_zone_is_written_in_utc() -> None:
    from dataclasses import replace
    from datetime import datetime, timedelta, timezone

    paris = datetime(2026, 12, 1, 10, 30, tzinfo=timezone(timedelta(hours=1)))
    document = submission_to_document(replace(make_rich_submission(), updated_at=paris))
    assert document["updated_at"] == "2026-12-01T09:30:00Z"


def test_a_naive_time_anywhere_is_refused() -> None:
    from dataclasses import replace
    from datetime import datetime

    from diagpro.adapters.codec import DocumentEncodeError

    rich = make_rich_submission()
    assert rich.payment is not None
    naive_payment = replace(rich.payment, paid_at=datetime(2026, 12, 1, 9, 30))
    with pytest.raises(DocumentEncodeError, match="naive datetime 2026-12-01T09:30:00"):
        submission_to_document(replace(rich, payment=naive_payment))


def _dataclasses_and_times(value: Any) -> tuple[list[Any], bool]:
    """The dataclass instances directly inside ``value`` and whether a datetime is anywhere in it,
    found by walking everything (the quick check walks only what types say can hold a time)."""
    import dataclasses
    from datetime import datetime

    found: list[Any] = []
    has_time = False
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, datetime):
            has_time = True
        elif dataclasses.is_dataclass(item) and not isinstance(item, type):
            found.append(item)
            pending.extend(getattr(item, f.name) for f in dataclasses.fields(item))
        elif isinstance(item, list | tuple):
            pending.extend(item)
        elif isinstance(item, dict):
            pending.extend(item.values())
    return found, has_time


def test_the_quick_time_check_looks_into_every_field_that_holds_a_time() -> None:
    """Every field of every dataclass in a rich submission (payment, checkout, disputes...)
    that holds a datetime is one the quick check walks."""
    import dataclasses

    from diagpro.adapters.codec import _fields_with_times

    instances, _ = _dataclasses_and_times(make_rich_submission())
    checked = 0
    for instance in instances:
        for field in dataclasses.fields(instance):
            _, holds_time = _dataclasses_and_times(getattr(instance, field.name))
            if holds_time:
                assert field.name in _fields_with_times(type(instance)), (instance, field.name)
                checked += 1
    assert checked >= 6  # created_at, updated_at, checkout, payment, the attempt, disputes

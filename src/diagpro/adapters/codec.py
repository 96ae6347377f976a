"""Submission <-> a JSON-compatible document, for every store that keeps submissions.

Storage-neutral on purpose: the in-memory fake, the SQLite adapter and the Firestore adapter all
keep the same document, so a submission looks the same wherever it is stored. The document is
plain ``dict``/``list``/``str``/``int``/``bool``/``None``:

* datetimes become ISO 8601 text in UTC with a ``Z`` suffix (``2026-11-26T12:00:00Z``); a naive
  datetime is refused when encoding, and a stored time without an offset is refused when
  decoding, so nothing ever comes back naive or in another zone;
* enums become their wire values (``"paid"``) and come back as the enum;
* tuples become lists and come back as tuples (the domain's values are frozen);
* ``format_version`` says which layout the document has. Bump ``FORMAT_VERSION`` and register an
  upgrade in ``_UPGRADES`` when a change cannot be read by the current decoder (a field renamed
  or re-typed; a new field with a default needs nothing); the upgrades live in
  ``codec_upgrades``.

Anything the decoder cannot read raises ``DocumentDecodeError``: a stored document that does not
decode is corruption or a deployment mistake, and must be loud.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import typing
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from diagpro.adapters.codec_upgrades import submission_1_to_2
from diagpro.domain.submission import Submission

# 2: the analysis is one structured shape (domain.analysis) instead of 15 prose sections.
FORMAT_VERSION = 2
FORMAT_KEY = "format_version"

Document = dict[str, Any]

# _UPGRADES[n] turns a version-n document into a version-(n+1) one.
_UPGRADES: dict[int, Callable[[Document], Document]] = {1: submission_1_to_2}


class DocumentDecodeError(ValueError):
    """A stored document (or time) that this version of diagpro cannot read."""


class DocumentEncodeError(ValueError):
    """A value that cannot be stored as is (a naive datetime)."""


def encode_datetime(value: datetime) -> str:
    """Aware datetime -> ``2026-11-26T12:00:00Z`` (microseconds kept when present)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise DocumentEncodeError(f"naive datetime {value.isoformat()} cannot be stored")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def decode_datetime(text: str) -> datetime:
    """The inverse of ``encode_datetime``: always timezone-aware UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise DocumentDecodeError(f"{text!r} is not an ISO 8601 time") from exc
    if value.tzinfo is None:
        raise DocumentDecodeError(f"stored time {text!r} has no UTC offset")
    return value.astimezone(UTC)


def _to_plain(value: Any) -> Any:
    """msgspec's builtins (with datetimes kept as objects) -> JSON-compatible values."""
    if isinstance(value, datetime):
        return encode_datetime(value)
    if isinstance(value, dict):
        return {key: _to_plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_to_plain(item) for item in value]
    return value


def _check_times(value: Any, where: str) -> None:
    """Refuse a decoded value holding a naive or non-UTC datetime anywhere inside it."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() != UTC.utcoffset(None):
            raise DocumentDecodeError(f"{where} is not a UTC time: {value.isoformat()}")
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            _check_times(getattr(value, field.name), f"{where}.{field.name}")
    elif isinstance(value, tuple):
        for index, item in enumerate(value):
            _check_times(item, f"{where}[{index}]")


_NO_OFFSET = timedelta(0)


@functools.cache
def _fields_with_times(cls: type) -> tuple[str, ...]:
    """The fields of a dataclass whose declared type can hold a datetime, directly or inside a
    tuple, union or dataclass: the only ones ``_all_times_utc`` needs to look into. An intake or
    an analysis, most of a submission, has none."""
    hints = typing.get_type_hints(cls)
    return tuple(f.name for f in dataclasses.fields(cls) if _can_hold_time(hints[f.name]))


def _can_hold_time(declared: Any) -> bool:
    if declared is datetime:
        return True
    if dataclasses.is_dataclass(declared) and isinstance(declared, type):
        return bool(_fields_with_times(declared))
    if declared in (str, int, float, bool, type(None), bytes) or (
        isinstance(declared, type) and issubclass(declared, enum.Enum)
    ):
        return False
    inside = [a for a in typing.get_args(declared) if a is not Ellipsis]
    # A type with nothing inside it that is none of the above (Any, object, a bare dict): look.
    return any(_can_hold_time(a) for a in inside) if inside else True


def _all_times_utc(value: Any) -> bool:
    """Whether every datetime inside ``value`` is aware and in UTC: a look at each value that
    can hold one, building nothing, so the common case skips the slow, careful walks
    (``_to_plain`` when writing, ``_check_times`` when reading), which also say what is wrong
    and where."""
    pending = [value]
    while pending:
        item = pending.pop()
        kind: type = type(item)
        if kind is str or kind is int or kind is bool or kind is float or item is None:
            continue
        if kind is datetime:
            if item.utcoffset() != _NO_OFFSET:  # None (naive) too
                return False
        elif kind is tuple or kind is list:
            pending.extend(item)
        elif kind is dict:
            pending.extend(item.values())
        elif hasattr(item, "__dataclass_fields__"):
            pending.extend(getattr(item, name) for name in _fields_with_times(kind))
        elif isinstance(item, datetime):  # a datetime subclass: the careful way
            return False
    return True


def submission_to_document(submission: Submission) -> Document:
    """The submission as a JSON-compatible dict, ``format_version`` included."""
    if _all_times_utc(submission):
        # Through JSON and back, in C: msgspec writes an aware UTC datetime as encode_datetime
        # does (RFC 3339, "Z", microseconds when there are some), and tuples come back lists.
        document: Document = msgspec.json.decode(msgspec.json.encode(submission))
    else:  # a time in another zone, turned to UTC on the way; a naive one refused
        document = _to_plain(msgspec.to_builtins(submission, builtin_types=(datetime,)))
    document[FORMAT_KEY] = FORMAT_VERSION
    return document


def submission_from_document(document: Mapping[str, Any]) -> Submission:
    """Read a document written by ``submission_to_document`` (this or an older format)."""
    doc = dict(document)
    version = doc.pop(FORMAT_KEY, None)
    if not isinstance(version, int) or isinstance(version, bool):
        raise DocumentDecodeError(f"submission document has no {FORMAT_KEY}")
    if version > FORMAT_VERSION:
        raise DocumentDecodeError(
            f"submission document has {FORMAT_KEY} {version}; this diagpro reads up to "
            f"{FORMAT_VERSION} (was it written by a newer release?)"
        )
    while version < FORMAT_VERSION:
        upgrade = _UPGRADES.get(version)
        if upgrade is None:
            raise DocumentDecodeError(f"no upgrade from {FORMAT_KEY} {version}")
        doc = upgrade(doc)
        version += 1
    try:
        submission = msgspec.convert(doc, Submission)
    except msgspec.ValidationError as exc:
        where = doc.get("id", "?")
        raise DocumentDecodeError(f"submission document {where!r} is invalid: {exc}") from exc
    if not _all_times_utc(submission):
        _check_times(submission, "submission")  # raises, naming the time and where it is
    return submission


# What the document's text starts with: msgspec writes a dataclass as a JSON object, so the
# version is put first inside it rather than added to a dict decoded again for the purpose.
_VERSIONED_OPENING = b'{"%s":%d,' % (FORMAT_KEY.encode(), FORMAT_VERSION)


def submission_to_json(submission: Submission) -> bytes:
    """The document as compact UTF-8 JSON."""
    if _all_times_utc(submission):
        # One pass, in C: the same document as submission_to_document's, "format_version" first.
        return _VERSIONED_OPENING + msgspec.json.encode(submission)[1:]
    return msgspec.json.encode(submission_to_document(submission))


def submission_from_json(data: bytes | str) -> Submission:
    try:
        document = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise DocumentDecodeError(f"stored submission is not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise DocumentDecodeError("stored submission is not a JSON object")
    return submission_from_document(document)

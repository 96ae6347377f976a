"""Session-wide fixtures shared by every test package (keep this file small)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.emulators import firestore_emulator as _start_firestore_emulator
from tests.emulators import firestore_project
from tests.emulators import gcs_emulator as _start_gcs_emulator
from tests.emulators import pubsub_emulator as _start_pubsub_emulator

if TYPE_CHECKING:
    from google.cloud import firestore

# Fixtures that start a process of their own: a test that uses one (directly or through another
# fixture) is marked so ``make unit`` (-m "not process and not emulator") never starts them.
EMULATOR_FIXTURES = frozenset({"firestore_emulator", "gcs_emulator", "pubsub_emulator"})
PROCESS_FIXTURES = frozenset({"serve"})  # tests/e2e: ``diagpro serve`` as a subprocess


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by the fixtures they use; ``fixturenames`` is the whole closure, so a fixture
    used through another one (``firestore_client`` -> ``firestore_emulator``) counts too. A
    fixture fetched with ``request.getfixturevalue`` is not in it: such tests carry the mark on
    their parameter (``pytest.param(..., marks=pytest.mark.emulator)``)."""
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if used & EMULATOR_FIXTURES:
            item.add_marker(pytest.mark.emulator)
        if used & PROCESS_FIXTURES:
            item.add_marker(pytest.mark.process)


@pytest.fixture(scope="session")
def firestore_emulator() -> Iterator[str]:
    """``host:port`` of the official Firestore emulator, started on first use, stopped at exit."""
    with _start_firestore_emulator() as host_port:
        yield host_port


@pytest.fixture(scope="session")
def gcs_emulator() -> Iterator[str]:
    """Base URL of gcp-storage-emulator (in memory), started on first use, stopped at exit.

    Tests point the client at it with ``monkeypatch.setenv("STORAGE_EMULATOR_HOST", url)``.
    """
    with _start_gcs_emulator() as base_url:
        yield base_url


@pytest.fixture(scope="session")
def pubsub_emulator() -> Iterator[str]:
    """``host:port`` of the official Pub/Sub emulator, started on first use, stopped at exit.

    Tests point the clients at it with ``monkeypatch.setenv("PUBSUB_EMULATOR_HOST", host_port)``.
    """
    with _start_pubsub_emulator() as host_port:
        yield host_port


@pytest.fixture
def firestore_client(
    firestore_emulator: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[firestore.Client]:
    """A client on the emulator, in a project of its own (so each test starts empty)."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore

    # The documented switch: the client reads it when built and then talks plain gRPC to it.
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", firestore_emulator)
    client = firestore.Client(project=firestore_project(), credentials=AnonymousCredentials())
    yield client
    client.close()

"""What this process has found wrong that only an operator can fix, for ``GET /healthz``; and
whether the service is ready to take paid work, for ``GET /readyz`` (``Readiness``).

A job that fails on a configuration problem (a retired model, a rejected response schema, a
permission missing) records it here, and the health route reports the service ``degraded``
with the reason until an analysis succeeds again. It is one object per process, handed out by
the container (never a module global, so tests and several apps in one process stay apart).
Each instance knows only what it has itself met: on Cloud Run, the instance that failed the job.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from diagpro.application.orders import StuckOrders
from diagpro.domain.errors import ReportStorageError, StoreUnavailable
from diagpro.domain.ports import Clock, StoreProbe

log = logging.getLogger("diagpro.health")


class ServiceHealth:
    """Problems by component ("analyzer", ...): the latest reason for each. Thread-safe: the
    worker thread writes while request threads read."""

    def __init__(self, stores: StoreCheck | None = None) -> None:
        self._lock = threading.Lock()
        self._problems: dict[str, str] = {}
        self._stores = stores

    def report(self, component: str, problem: str) -> None:
        with self._lock:
            self._problems[component] = problem

    def clear(self, component: str) -> None:
        with self._lock:
            self._problems.pop(component, None)

    def problems(self) -> tuple[str, ...]:
        """Each open problem as ``component: reason``, in the order they were first met; then
        a store that cannot be written (a full or read-only disk, a damaged database)."""
        with self._lock:
            found = tuple(f"{component}: {reason}" for component, reason in self._problems.items())
        stores = None if self._stores is None else self._stores.store_writable()
        return found if stores is None else (*found, f"store: {stores}")


@dataclass(frozen=True)
class _Answer:
    problem: str | None
    at: float


class StoreCheck:
    """Can the stores still be read and written? Each probe writes one tiny record and reads
    it back (``StoreProbe``); the answer is kept ``cache_seconds`` so a health probe hammered by
    a load balancer (or an attacker) costs a few writes a minute, never one per request.

    ``store_writable()`` is what ``/healthz`` and the customer's status use (cached);
    ``refusal()`` is what start-up uses (always asks). One object per process, from the
    container; reusable by a readiness route.
    """

    def __init__(
        self,
        probes: Mapping[str, StoreProbe],
        clock: Clock,
        cache_seconds: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._probes = dict(probes)
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._last: _Answer | None = None

    def store_writable(self) -> str | None:
        """None when every store took its probe write; else what is wrong, one line per store,
        naming the store and what to do. Cached for ``cache_seconds``."""
        with self._lock:  # one probe at a time: concurrent callers wait for its answer
            now = self._monotonic()
            if self._last is None or now - self._last.at >= self._cache_seconds:
                self._last = _Answer(self.refusal(), now)
            return self._last.problem

    def refusal(self) -> str | None:
        """Probe every store now (uncached); None when all are fine."""
        problems = []
        for name, probe in self._probes.items():
            try:
                probe.probe(self._clock.now())
            except (StoreUnavailable, ReportStorageError) as exc:
                problems.append(f"{name}: {exc.message}")
            except Exception as exc:  # a probe that breaks is a store we cannot vouch for
                log.exception("the %s probe failed unexpectedly", name)
                problems.append(f"{name}: the probe failed ({type(exc).__name__})")
        return "; ".join(problems) or None


class Readiness:
    """What ``GET /readyz`` answers: ready, or not with every reason. Not ready when
    ``ServiceHealth`` has a problem (a store that cannot be written, a misconfigured analyzer)
    or a paid order has waited for its report longer than the SLO (``StuckOrders``, read from
    the store, so every instance agrees; ``stuck`` makes one). The stuck-order answer is kept
    ``cache_seconds``, like the store probe's, so a hammered probe costs a few reads a minute."""

    def __init__(
        self,
        health: ServiceHealth,
        stuck: Callable[[], StuckOrders],
        cache_seconds: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._health = health
        self._stuck = stuck
        self._cache_seconds = cache_seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._last: _Answer | None = None

    def reasons(self) -> tuple[str, ...]:
        """Each reason the service is not ready; empty when it is."""
        stuck = self._stuck_reason()
        problems = self._health.problems()
        return problems if stuck is None else (*problems, stuck)

    def _stuck_reason(self) -> str | None:
        with self._lock:
            now = self._monotonic()
            if self._last is None or now - self._last.at >= self._cache_seconds:
                try:
                    # Built here, not in the constructor: a store that cannot even be opened
                    # (a read-only disk refuses its schema) is one more reason, not an error.
                    reason = self._stuck().reason()
                except StoreUnavailable as exc:
                    reason = (
                        f"orders: the paid orders awaiting a report cannot be read: {exc.message}"
                    )
                self._last = _Answer(reason, now)
            return self._last.problem

"""What this process has found wrong that only an operator can fix, for ``GET /healthz``.

A job that fails on a configuration problem (a retired model, a rejected response schema, a
permission missing) records it here, and the health route reports the service ``degraded``
with the reason until an analysis succeeds again. It is one object per process, handed out by
the container (never a module global, so tests and several apps in one process stay apart).
Each instance knows only what it has itself met: on Cloud Run, the instance that failed the job.
"""

from __future__ import annotations

import threading


class ServiceHealth:
    """Problems by component ("analyzer", ...): the latest reason for each. Thread-safe: the
    worker thread writes while request threads read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._problems: dict[str, str] = {}

    def report(self, component: str, problem: str) -> None:
        with self._lock:
            self._problems[component] = problem

    def clear(self, component: str) -> None:
        with self._lock:
            self._problems.pop(component, None)

    def problems(self) -> tuple[str, ...]:
        """Each open problem as ``component: reason``, in the order they were first met."""
        with self._lock:
            return tuple(f"{component}: {reason}" for component, reason in self._problems.items())

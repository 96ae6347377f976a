"""The order path's use cases, awaited from async handlers.

Saving a submission, a payment event and a status read are a few store statements. A sync
handler would send each to Litestar's thread pool (a hop that costs more than the work); these
handlers are async and await ``Awaited``, which hands the use case to the container's
``order_path`` runner: the embedded database's writer thread, which commits several requests at
once (``adapters/sqlite/writer.py``), or the thread pool for stores on the network.

A handler takes one ``Awaited`` dependency: Litestar resolves two or more independent
dependencies of a handler in an anyio task group, which costs more than the use case here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

UseCase = TypeVar("UseCase", bound=Callable[..., Any])
Runner = Callable[..., Awaitable[Any]]


class Awaited(Generic[UseCase]):
    """``await awaited(...)``: the use case, called by the order path's runner."""

    def __init__(self, use_case: UseCase, runner: Runner) -> None:
        self.use_case = use_case
        self._runner = runner

    async def __call__(self, *args: Any) -> Any:
        return await self._runner(self.use_case, *args)

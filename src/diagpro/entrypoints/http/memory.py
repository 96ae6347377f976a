"""The garbage collector, set for a server that lives long and answers many small requests.

Python's cyclic collector runs after every few hundred new container objects, and each of its
full passes walks every object alive: the app, its routes, its libraries, tens of thousands of
them, for nothing, since they live as long as the server. Measured under load
(bench/http_bench.py), those passes were the slowest one per cent of answers (p99 147 ms where
the median was 35 ms). So, once the app is built:

- ``gc.freeze()`` moves everything alive into a generation the collector never walks
  (https://docs.python.org/3/library/gc.html#gc.freeze);
- the first generation is collected after 20,000 new objects instead of 700, so a request's
  short-lived objects are mostly freed by reference counting before any pass looks at them.

Called by ``diagpro serve`` just before it starts serving, not by the app factory: a test run
builds hundreds of apps in one process, whose garbage must stay collectable.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger("diagpro.server")

FIRST_GENERATION_THRESHOLD = 20_000


def settle_memory() -> None:
    """Everything alive now is the server's for good."""
    gc.collect()
    gc.freeze()
    _, second, third = gc.get_threshold()
    gc.set_threshold(FIRST_GENERATION_THRESHOLD, second, third)
    log.debug("%d objects frozen out of the garbage collector's passes", gc.get_freeze_count())

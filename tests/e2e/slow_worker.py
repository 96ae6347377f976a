"""A worker process whose analyzer hangs, so a test can SIGKILL it in the middle of a job.

Run as a script by tests/e2e/test_worker_killed.py; it wires the real container (embedded SQLite
defaults from the environment) and only slows the analyzer down.
"""

from __future__ import annotations

import sys
import threading
import time

from dependency_injector import providers

from diagpro.adapters.offline_analyzer import OfflineAnalyzer
from diagpro.container import Container
from diagpro.entrypoints.worker import run_worker


class HangingAnalyzer:
    def analyse(self, intake, codes, currency):
        print("analysing", flush=True)
        time.sleep(600)  # the test kills us long before this returns
        return OfflineAnalyzer().analyse(intake, codes, currency)


def main() -> int:
    container = Container()
    container.analyzer.override(providers.Object(HangingAnalyzer()))
    process = container.process_jobs()
    run_worker(process, container.jobs(), container.clock(), threading.Event())
    return 0


if __name__ == "__main__":
    sys.exit(main())

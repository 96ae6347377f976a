"""Renderer factories for tests/unit/test_render_isolation.py, imported and called *inside* the
render process by IsolatedRenderer (``renderer_factory=``), so the tests can make a render hang,
eat memory or crash without touching WeasyPrint.

A ``TrapRenderer`` misbehaves only for a few magic submission ids and renders every other
document through the renderer it wraps, so one render process can be driven into trouble and
then asked for an ordinary report.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path

from diagpro.domain.errors import RenderFailed
from diagpro.domain.ports import ReportRenderer
from diagpro.domain.report import ReportDocument
from tests.doubles import RecordingRenderer

HANG = "trap-hang"  # sleeps for ten minutes
HOG = "trap-hog"  # allocates until the address-space limit says no
CRASH = "trap-crash"  # segfaults
FAIL = "trap-fail"  # raises RenderFailed, as the real renderer does for bad data
BUG = "trap-bug"  # raises something that is not RenderFailed
LOG = "trap-log"  # logs a warning, then renders

FAIL_MESSAGE = "report template failed: UndefinedError: 'cause' is undefined"
LOG_MESSAGE = "Failed to load image at 'http://169.254.169.254/latest': refused"
# When set, the hang trap writes its pid here first, so a test knows the render has begun.
HANG_MARKER_ENV = "DIAGPRO_TEST_HANG_MARKER"


class TrapRenderer:
    def __init__(self, inner: ReportRenderer) -> None:
        self._inner = inner

    def render(self, document: ReportDocument) -> bytes:
        sid = document.submission_id
        if sid == HANG:
            marker = os.environ.get(HANG_MARKER_ENV)
            if marker:
                Path(marker).write_text(str(os.getpid()))
            time.sleep(600)
        elif sid == HOG:
            chunks = []
            while True:  # calloc'd zero pages: address space runs out fast, RAM is not touched
                chunks.append(bytes(64 * 1024 * 1024))
        elif sid == CRASH:
            os.kill(os.getpid(), signal.SIGSEGV)
        elif sid == FAIL:
            raise RenderFailed(FAIL_MESSAGE)
        elif sid == BUG:
            raise KeyError("section")
        elif sid == LOG:
            logging.getLogger("weasyprint").warning(LOG_MESSAGE)
        return self._inner.render(document)


def fast_traps() -> TrapRenderer:
    """Traps around RecordingRenderer's tiny fake PDF."""
    return TrapRenderer(RecordingRenderer())


def weasyprint_traps() -> TrapRenderer:
    """Traps around the real WeasyPrint renderer."""
    from diagpro.adapters.pdf import WeasyPrintRenderer

    return TrapRenderer(WeasyPrintRenderer())

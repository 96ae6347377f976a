"""IsolatedRenderer: WeasyPrint in a reusable child process with a wall-clock and memory limit.

The misbehaving renderers (hang, memory hog, segfault) come from tests/unit/render_traps.py and
are built inside the render process by import path, so WeasyPrint itself is never touched.
"""

from __future__ import annotations

import gc
import logging
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from diagpro.adapters.pdf.isolation import DEFAULT_FACTORY, IsolatedRenderer, factory_path
from diagpro.config import ConfigError, load_settings
from diagpro.domain.errors import RenderFailed
from diagpro.domain.report import ReportDocument
from tests.builders import CURRENCY, T0, make_analysis, make_intake, new_submission_id
from tests.harness import container_for_tests
from tests.unit import render_traps
from tests.unit.render_traps import fast_traps

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 1.5
MEMORY_MB = 768


def document(submission_id: str | None = None) -> ReportDocument:
    return ReportDocument(
        submission_id or new_submission_id(), make_intake(), make_analysis(), T0, CURRENCY
    )


def running(pid: int) -> bool:
    """Still a live process (a zombie waiting for init to reap it has exited)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while running(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def pdf_pages(pdf: bytes, tmp_path: Path) -> int:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    return int(next(x for x in info.stdout.splitlines() if x.startswith("Pages:")).split()[1])


# -- no process needed ----------------------------------------------------------------------------


def test_a_report_document_pickles_whole():
    doc = document()
    assert pickle.loads(pickle.dumps(doc, protocol=pickle.HIGHEST_PROTOCOL)) == doc


def test_the_renderer_factory_must_be_importable_in_the_child():
    assert factory_path(None) == DEFAULT_FACTORY
    assert factory_path(fast_traps) == "tests.unit.render_traps:fast_traps"
    assert factory_path("pkg.module:name") == "pkg.module:name"
    with pytest.raises(ValueError, match="module-level"):
        factory_path(lambda: None)  # type: ignore[arg-type,return-value]
    with pytest.raises(ValueError, match=r"package\.module:name"):
        factory_path("no_colon")


def test_nothing_starts_until_the_first_render(tmp_path):
    renderer = IsolatedRenderer()
    assert renderer.pid is None
    renderer.close()
    with pytest.raises(RenderFailed, match="shut down"):
        renderer.render(document())


def test_the_container_wires_the_limits_from_the_environment(tmp_path):
    env = {"DIAGPRO_RENDER_TIMEOUT_SECONDS": "12.5", "DIAGPRO_RENDER_MEMORY_MB": "2048"}
    container = container_for_tests(tmp_path, memory=False, env=env)
    renderer = container.renderer()
    assert isinstance(renderer, IsolatedRenderer)
    assert (renderer.timeout_seconds, renderer.memory_mb) == (12.5, 2048)
    assert renderer.pid is None  # building the container starts no process
    renderer.close()

    defaults = load_settings({"DIAGPRO_DATA_DIR": str(tmp_path)})
    assert (defaults.render_timeout_seconds, defaults.render_memory_mb) == (30.0, 1536)
    with pytest.raises(ConfigError) as problem:
        load_settings(
            {
                "DIAGPRO_DATA_DIR": str(tmp_path),
                "DIAGPRO_RENDER_TIMEOUT_SECONDS": "0",
                "DIAGPRO_RENDER_MEMORY_MB": "100",
            }
        )
    assert "DIAGPRO_RENDER_TIMEOUT_SECONDS" in str(problem.value)
    assert "DIAGPRO_RENDER_MEMORY_MB" in str(problem.value)


# -- real processes -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def traps():
    """One renderer for the trap tests: each test leaves it with a working child for the next."""
    renderer = IsolatedRenderer(
        renderer_factory=fast_traps, timeout_seconds=TIMEOUT, memory_mb=MEMORY_MB
    )
    yield renderer
    renderer.close()


@pytest.mark.process
def test_a_real_report_renders_through_the_child(tmp_path):
    with IsolatedRenderer() as renderer:
        doc = document()
        pdf = renderer.render(doc)
        assert pdf.startswith(b"%PDF-")
        assert pdf_pages(pdf, tmp_path) >= 3
        pid = renderer.pid
        assert pid is not None and pid != os.getpid()
        limits = Path(f"/proc/{pid}/limits").read_text()
    address_space = next(x for x in limits.splitlines() if x.startswith("Max address space"))
    assert address_space.split()[3:5] == [str(1536 * 1024 * 1024)] * 2
    assert not running(pid)


@pytest.mark.process
def test_the_child_is_kept_warm_and_reused(traps):
    first = traps.render(document())
    pid = traps.pid
    assert traps.render(document()).startswith(b"%PDF-") and first.startswith(b"%PDF-")
    assert traps.pid == pid


@pytest.mark.process
def test_render_failed_passes_through_and_the_child_stays(traps):
    traps.render(document())
    pid = traps.pid
    with pytest.raises(RenderFailed) as failed:
        traps.render(document(render_traps.FAIL))
    assert failed.value.message == render_traps.FAIL_MESSAGE
    assert traps.pid == pid


@pytest.mark.process
def test_a_hang_is_killed_at_the_timeout_and_the_next_render_works(traps):
    traps.render(document())
    pid = traps.pid
    started = time.monotonic()
    with pytest.raises(RenderFailed, match=rf"took longer than {TIMEOUT:g} s to render"):
        traps.render(document(render_traps.HANG))
    waited = time.monotonic() - started
    assert TIMEOUT <= waited < TIMEOUT + 1.5
    assert not running(pid)  # killed and reaped: no zombie
    assert traps.render(document()).startswith(b"%PDF-")
    assert traps.pid not in (None, pid)


@pytest.mark.process
@pytest.mark.parametrize(
    ("trap", "says"),
    [
        (
            render_traps.HOG,
            rf"needed more memory than the render process may use \({MEMORY_MB} MiB",
        ),
        (render_traps.CRASH, r"render process crashed \(SIGSEGV\) while rendering report"),
        (render_traps.BUG, r"render process failed on report trap-bug: KeyError: 'section'"),
    ],
)
def test_a_child_in_trouble_becomes_render_failed_and_is_replaced(traps, trap, says):
    traps.render(document())
    pid = traps.pid
    with pytest.raises(RenderFailed, match=says):
        traps.render(document(trap))
    assert not running(pid)
    assert traps.render(document()).startswith(b"%PDF-")
    assert traps.pid not in (None, pid)


@pytest.mark.process
def test_warnings_logged_in_the_child_reach_the_parents_log(traps, caplog):
    with caplog.at_level(logging.WARNING):
        traps.render(document(render_traps.LOG))
    assert ("weasyprint", logging.WARNING, render_traps.LOG_MESSAGE) in caplog.record_tuples


@pytest.mark.process
def test_close_leaves_no_child_process():
    renderer = IsolatedRenderer(renderer_factory=fast_traps)
    renderer.render(document())
    pid = renderer.pid
    assert pid is not None and running(pid)
    renderer.close()
    assert not running(pid) and renderer.pid is None
    renderer.close()  # twice is fine
    with pytest.raises(RenderFailed, match="shut down"):
        renderer.render(document())


@pytest.mark.process
def test_a_forgotten_renderer_stops_its_child_when_collected():
    renderer = IsolatedRenderer(renderer_factory=fast_traps)
    renderer.render(document())
    pid = renderer.pid
    assert pid is not None
    del renderer
    gc.collect()
    assert not running(pid)


PARENT = f"""
from diagpro.adapters.pdf.isolation import IsolatedRenderer
from diagpro.domain.report import ReportDocument
from tests.builders import CURRENCY, T0, make_analysis, make_intake

def document(submission_id="diag_parent"):
    return ReportDocument(submission_id, make_intake(), make_analysis(), T0, CURRENCY)

idle = IsolatedRenderer(renderer_factory="tests.unit.render_traps:fast_traps")
busy = IsolatedRenderer(renderer_factory="tests.unit.render_traps:fast_traps")
idle.render(document())
busy.render(document())
print(idle.pid, busy.pid, flush=True)
busy.render(document({render_traps.HANG!r}))  # hangs until we are killed
"""


@pytest.mark.process
def test_children_exit_when_their_parent_is_killed(tmp_path):
    marker = tmp_path / "hanging"
    env = {**os.environ, render_traps.HANG_MARKER_ENV: str(marker)}
    with subprocess.Popen(
        [sys.executable, "-c", PARENT], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    ) as parent:
        try:
            idle_pid, busy_pid = (int(p) for p in parent.stdout.readline().split())
            deadline = time.monotonic() + 10
            while not marker.exists() and time.monotonic() < deadline:
                time.sleep(0.02)
            assert marker.read_text() == str(busy_pid)  # the busy child is mid-render
            assert running(idle_pid) and running(busy_pid)
        finally:
            os.kill(parent.pid, signal.SIGKILL)
            parent.wait(timeout=10)
    # The idle child reads end-of-file on its request pipe; the busy one's watchdog sees the pipe
    # close while WeasyPrint (here: the hang trap) is still running. Neither is left behind.
    assert gone_within(idle_pid, 5)
    assert gone_within(busy_pid, 5)

"""ReportRenderer in a separate, reusable process with a hard wall-clock and memory limit.

Customer text and model output reach WeasyPrint, and WeasyPrint's own documentation says that
untrusted content can mean "high memory use, endless renderings" and that the defence is
process-level limits, not an in-library timeout:
https://doc.courtbouillon.org/weasyprint/stable/first_steps.html#security
So the worker never runs WeasyPrint itself: ``IsolatedRenderer`` sends each ``ReportDocument``
to a child process and waits at most ``timeout_seconds`` for the PDF.

The child process

- is started with ``subprocess`` (fork+exec of ``sys.executable -I``, safe from a threaded
  parent) on the first render, not before. Not ``multiprocessing``: its spawn and forkserver
  bootstraps re-import the parent's ``__main__`` (for ``diagpro`` that is the whole app, WeasyPrint
  included) before any limit could be set. ``-I`` keeps the working directory and ``PYTHON*``
  variables out; the parent's ``sys.path`` is handed over instead;
- caps its address space (``RLIMIT_AS``, ``memory_mb``) *before* it imports WeasyPrint, then
  builds the renderer once (``WeasyPrintRenderer()`` unless ``renderer_factory`` says otherwise)
  and renders report after report: WeasyPrint's import and first render cost about a second,
  paid once per child, not per report;
- caps its own CPU time before each report (``RLIMIT_CPU``: what it has used so far plus twice
  the timeout plus 10 s): a backstop that ends a runaway render even if nobody is left to kill it;
- exits as soon as its request pipe closes, whether it is idle or in the middle of a report: that
  pipe closes when ``close()`` is called and also when the parent dies in any way (even SIGKILL),
  so no orphan keeps rendering;
- ignores SIGINT: Ctrl-C is the parent's to handle; the parent then stops the child.

What the parent does with each outcome:

- a PDF: returned;
- ``RenderFailed`` raised by the renderer: raised again with the same message; the child stays;
- no answer within ``timeout_seconds``: the child is SIGKILLed and reaped, ``RenderFailed("the
  report took longer than N s to render …")``; the next render starts a fresh child;
- ``MemoryError`` in the child (the allocation hit ``RLIMIT_AS``), the child dying (killed by the
  kernel, a segfault in a C library) or any other exception: ``RenderFailed`` saying what
  happened; the child is replaced for the next render.

Those ``RenderFailed`` are retried by the job loop with backoff like any other, so a hostile
report costs at most ``timeout_seconds`` per attempt. Starting a child (the first render, and the
one after a replacement) takes about 0.6 s and has its own limit, ``start_timeout_seconds``.

This bounds time and memory; it is not a sandbox. The child runs as the same user, with the same
environment and files; what WeasyPrint may fetch is limited by ``fetcher.py``, not here.

The parent never unpickles what the child sends: answers are a JSON header plus the raw PDF, so a
child that WeasyPrint's input managed to subvert cannot run code in the worker through them.
Warnings the child logs during a render (e.g. WeasyPrint refusing a URL) are re-logged in the
parent under the same logger names.

Thread safety: one render at a time per ``IsolatedRenderer`` (a lock); a second thread waits for
the first render to finish or time out. The worker renders from a single thread today; run one
``IsolatedRenderer`` per worker thread if that changes. ``close()`` may be called from any thread:
it kills the child, which ends a render in flight with ``RenderFailed``. The child is also stopped
when the ``IsolatedRenderer`` is garbage-collected and at interpreter exit (``weakref.finalize``).
A process forked from the parent does not use (or kill) the parent's child: it starts its own.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import math
import os
import pickle
import resource
import select
import signal
import struct
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from diagpro.domain.errors import RenderFailed
from diagpro.domain.ports import ReportRenderer
from diagpro.domain.report import ReportDocument

log = logging.getLogger("diagpro.render")

DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_MEMORY_MB = 1536
DEFAULT_START_TIMEOUT_SECONDS = 60.0
DEFAULT_FACTORY = "diagpro.adapters.pdf:WeasyPrintRenderer"
# A report PDF is tens of kilobytes; refuse to take anything absurd into the worker's memory.
MAX_REPLY_BYTES = 128 * 1024 * 1024
MAX_FORWARDED_LOGS = 50
MAX_LOG_CHARS = 4000
# How long close() lets an idle child exit on its own before SIGKILL.
STOP_GRACE_SECONDS = 2.0
# RLIMIT_CPU budget per report on top of what the child has used: only a backstop for a child
# whose parent is gone; the parent's wall-clock timeout always fires first.
_CPU_MARGIN_SECONDS = 10

# Run by the child as ``python -I -c _BOOTSTRAP <config json>``: only the standard library is
# imported before the address-space limit is set, so WeasyPrint loads under it.
_BOOTSTRAP = """\
import json, resource, sys
config = json.loads(sys.argv[1])
sys.path[:] = config["sys_path"]
limit = config["memory_bytes"]
_, hard = resource.getrlimit(resource.RLIMIT_AS)
if hard != resource.RLIM_INFINITY:
    limit = min(limit, hard)
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from diagpro.adapters.pdf.isolation import child_main
sys.exit(child_main(config))
"""

_HEADER = struct.Struct("!I")

RendererFactory = Callable[[], ReportRenderer]


def factory_path(factory: str | RendererFactory | None) -> str:
    """``module:attribute`` for a renderer factory, which the child imports and calls once.
    A callable must be reachable by that path (a module-level function or class)."""
    if factory is None:
        return DEFAULT_FACTORY
    if isinstance(factory, str):
        module, _, name = factory.partition(":")
        if not module or not name:
            raise ValueError(f"renderer_factory {factory!r} must look like 'package.module:name'")
        return factory
    path = f"{getattr(factory, '__module__', '')}:{getattr(factory, '__qualname__', '')}"
    try:
        found = _resolve(path)
    except (ImportError, AttributeError, ValueError):
        found = None
    if found is not factory:
        raise ValueError(
            f"renderer_factory {factory!r} must be a module-level callable the render process "
            f"can import as {path!r}"
        )
    return path


def _resolve(path: str) -> Any:
    module, _, name = path.partition(":")
    target: Any = importlib.import_module(module)
    for part in name.split("."):
        target = getattr(target, part)
    return target


# -- the parent's side ---------------------------------------------------------------------------


class _Child:
    """One render process and the two pipes to it. Only its creator process may use it."""

    def __init__(self, process: subprocess.Popen[bytes], requests: Connection, replies: Connection):
        self.process = process
        self.requests = requests  # parent -> child: pickled ReportDocuments
        self.replies = replies  # child -> parent: header + PDF, never pickled
        self.owner = os.getpid()

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL and reap. Safe from any thread, any number of times."""
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()  # Popen does nothing once it has reaped the child
        self._reap()

    def stop(self) -> None:
        """Close its request pipe (it exits at once, even mid-render), then reap; SIGKILL if it
        is still there after STOP_GRACE_SECONDS."""
        with contextlib.suppress(OSError):
            self.requests.close()
        try:
            self.process.wait(STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            self.kill()

    def close_pipes(self) -> None:
        for pipe in (self.requests, self.replies):
            with contextlib.suppress(OSError):
                pipe.close()

    def _reap(self) -> None:
        try:
            self.process.wait(STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:  # stuck in the kernel; reaped by a later wait()
            log.warning("render process %s did not exit after SIGKILL", self.pid)

    def death(self) -> str:
        """What became of it, in words. Its pipe has closed, so it is exiting: give it a moment
        to finish (so a segfault is reported as one), then make sure it is gone."""
        try:
            self.process.wait(STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            self.kill()
            return "closed its pipe but did not exit, and was killed"
        code = self.process.returncode
        if code >= 0:
            return f"exited with status {code}"
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        if -code == signal.SIGKILL:
            return "was killed (SIGKILL, e.g. by the kernel's out-of-memory killer)"
        if -code == signal.SIGXCPU:
            return "ran out of its CPU-time limit (SIGXCPU)"
        if -code in (signal.SIGSEGV, signal.SIGBUS, signal.SIGABRT, signal.SIGILL):
            return f"crashed ({name})"
        return f"was killed by {name}"


class _Slot:
    """The current child and the render lock, shared with the finalizer (which must not hold
    the renderer). A child's pipes are only used or closed by whoever holds ``lock``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.child: _Child | None = None
        self.closed = False

    def shutdown(self) -> None:
        self.closed = True
        child = self.child
        if child is None or child.owner != os.getpid():
            return
        if self.lock.acquire(blocking=False):
            try:
                child.stop()
                child.close_pipes()
                self.child = None
            finally:
                self.lock.release()
        else:  # a render is in flight on another thread: it sees the child die, and cleans up
            child.kill()


class IsolatedRenderer:
    """ReportRenderer that renders in a reusable child process, killed after ``timeout_seconds``
    and limited to ``memory_mb`` of address space. Nothing starts until the first render."""

    def __init__(
        self,
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        memory_mb: int = DEFAULT_MEMORY_MB,
        renderer_factory: str | RendererFactory | None = None,
        start_timeout_seconds: float = DEFAULT_START_TIMEOUT_SECONDS,
    ) -> None:
        if not timeout_seconds > 0 or not start_timeout_seconds > 0:
            raise ValueError("timeouts must be positive")
        if memory_mb < 1:
            raise ValueError("memory_mb must be positive")
        self.timeout_seconds = float(timeout_seconds)
        self.memory_mb = int(memory_mb)
        self.start_timeout_seconds = float(start_timeout_seconds)
        self._factory = factory_path(renderer_factory)
        self._slot = _Slot()
        self._finalizer = weakref.finalize(self, self._slot.shutdown)

    @property
    def pid(self) -> int | None:
        """The render process's pid while one is running (for operators and tests)."""
        child = self._slot.child
        return child.pid if child is not None and child.alive() else None

    def close(self) -> None:
        """Stop the render process. Further renders raise RenderFailed."""
        self._finalizer()

    def __enter__(self) -> IsolatedRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def render(self, document: ReportDocument) -> bytes:
        sid = document.submission_id
        try:
            payload = pickle.dumps(document, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            raise RenderFailed(
                f"report {sid} could not be sent to the render process: {exc}"
            ) from exc
        with self._slot.lock:
            child = self._running_child()
            try:
                child.requests.send_bytes(payload)
            except OSError:  # the request pipe broke: the child died before it got the report
                reason = self._lost(child, f"before it got report {sid}")
                self._discard(child)
                raise RenderFailed(reason) from None
            try:
                header, body = self._answer(child, time.monotonic() + self.timeout_seconds)
            except _NoAnswer as gone:
                if gone.timed_out:
                    self._discard(child)
                    raise RenderFailed(
                        f"the report took longer than {self.timeout_seconds:g} s to render; "
                        "the render process was killed and the next report gets a fresh one"
                    ) from None
                reason = self._lost(child, f"while rendering report {sid}", gone.reason)
                self._discard(child)
                raise RenderFailed(reason) from None
            status = header.get("status")
            if status == "ok":
                return body
            message = str(header.get("message", ""))
            if status == "render_failed":
                raise RenderFailed(message)
            self._discard(child)  # whatever else happened, the next report gets a fresh process
            if status == "memory":
                raise RenderFailed(
                    f"report {sid} needed more memory than the render process may use "
                    f"({self.memory_mb} MiB): {message}"
                )
            raise RenderFailed(f"the render process failed on report {sid}: {message}")

    # -- internals (all under self._slot.lock) ---------------------------------------------------

    def _running_child(self) -> _Child:
        slot = self._slot
        if slot.closed:
            raise RenderFailed("the report renderer has been shut down")
        child = slot.child
        if child is not None and child.owner != os.getpid():
            child.close_pipes()  # inherited through fork(): the child belongs to our parent
            child = slot.child = None
        if child is not None and not child.alive():
            log.warning("render process %s %s while idle", child.pid, child.death())
            self._discard(child)
            child = None
        if child is None:
            child = self._start()
            if slot.closed:  # close() ran while we were starting it
                child.kill()
                child.close_pipes()
                raise RenderFailed("the report renderer has been shut down")
            slot.child = child
        return child

    def _start(self) -> _Child:
        requests_r, requests_w = os.pipe()
        replies_r, replies_w = os.pipe()
        config = {
            "sys_path": sys.path,
            "memory_bytes": self.memory_mb * 1024 * 1024,
            "factory": self._factory,
            "requests_fd": requests_r,
            "replies_fd": replies_w,
            "cpu_seconds": math.ceil(2 * self.timeout_seconds) + _CPU_MARGIN_SECONDS,
            "log_level": logging.getLogger().getEffectiveLevel(),
        }
        try:
            process = subprocess.Popen(  # noqa: S603 -- our own interpreter and code, no shell
                [sys.executable, "-I", "-c", _BOOTSTRAP, json.dumps(config)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,  # stray prints must not reach the worker's stdout
                pass_fds=(requests_r, replies_w),
            )
        except OSError as exc:
            for fd in (requests_w, replies_r):
                os.close(fd)
            raise RenderFailed(f"the render process could not be started: {exc}") from exc
        finally:
            os.close(requests_r)
            os.close(replies_w)
        child = _Child(
            process, Connection(requests_w, readable=False), Connection(replies_r, writable=False)
        )
        try:
            header, _ = self._answer(child, time.monotonic() + self.start_timeout_seconds)
        except _NoAnswer as gone:
            reason = (
                f"the render process did not start within {self.start_timeout_seconds:g} s"
                if gone.timed_out
                else self._lost(child, "while starting", gone.reason)
            )
            child.kill()
            child.close_pipes()
            raise RenderFailed(reason) from None
        if header.get("status") != "ready":
            child.kill()
            child.close_pipes()
            raise RenderFailed(f"the render process could not start: {header.get('message')}")
        log.info("render process %s started (%s)", child.pid, self._factory)
        return child

    def _answer(self, child: _Child, deadline: float) -> tuple[dict[str, Any], bytes]:
        """The child's next answer: its header and body. Raises _NoAnswer."""
        try:
            if not child.replies.poll(max(0.0, deadline - time.monotonic())):
                raise _NoAnswer(timed_out=True)
            data = child.replies.recv_bytes(MAX_REPLY_BYTES)
        except (EOFError, OSError) as exc:
            too_big = isinstance(exc, OSError) and "bad message length" in str(exc)
            reason = f"sent more than {MAX_REPLY_BYTES} bytes" if too_big else ""
            raise _NoAnswer(timed_out=False, reason=reason) from None
        try:
            (size,) = _HEADER.unpack_from(data)
            header = json.loads(data[_HEADER.size : _HEADER.size + size])
            if not isinstance(header, dict):
                raise TypeError(type(header).__name__)
        except (struct.error, ValueError, TypeError) as exc:
            header = {"status": "error", "message": f"unreadable answer ({exc})"}
            return header, b""
        _relog(header.get("logs"), child.pid)
        return header, data[_HEADER.size + size :]

    def _discard(self, child: _Child) -> None:
        child.kill()
        child.close_pipes()
        if self._slot.child is child:
            self._slot.child = None

    def _lost(self, child: _Child, when: str, reason: str = "") -> str:
        """Why the child stopped answering (waits for it to finish exiting)."""
        if self._slot.closed:
            return f"the report renderer was shut down {when}"
        if reason:
            child.kill()
            return f"the render process {reason} {when}, and was killed"
        return f"the render process {child.death()} {when}"


class _NoAnswer(Exception):
    def __init__(self, *, timed_out: bool, reason: str = "") -> None:
        super().__init__(reason or ("timed out" if timed_out else "gone"))
        self.timed_out = timed_out
        self.reason = reason


def _relog(records: Any, pid: int) -> None:
    if not isinstance(records, list):
        return
    for record in records[: 2 * MAX_FORWARDED_LOGS]:
        with contextlib.suppress(TypeError, ValueError):
            name, level, message = record
            logging.getLogger(str(name)[:100]).log(
                int(level), "%s", str(message)[:MAX_LOG_CHARS], extra={"render_pid": pid}
            )


# -- the child's side ----------------------------------------------------------------------------


class _LogCollector(logging.Handler):
    """Keeps what the renderer logs during one report, to send back with the answer: at most
    MAX_FORWARDED_LOGS warnings and errors, and as many records below WARNING (WeasyPrint's
    page-by-page progress must not crowd out a refused URL)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(message)s"))
        self.records: list[tuple[str, int, str]] = []
        self._kept = {True: 0, False: 0}

    def emit(self, record: logging.LogRecord) -> None:
        serious = record.levelno >= logging.WARNING
        if self._kept[serious] < MAX_FORWARDED_LOGS:
            with contextlib.suppress(Exception):
                message = self.format(record)[:MAX_LOG_CHARS]
                self.records.append((record.name, record.levelno, message))
                self._kept[serious] += 1

    def take(self) -> list[tuple[str, int, str]]:
        records, self.records = self.records, []
        self._kept = {True: 0, False: 0}
        return records


def _reply(status: str, message: str, logs: _LogCollector, body: bytes = b"") -> bytes:
    header = json.dumps({"status": status, "message": message, "logs": logs.take()}).encode()
    return _HEADER.pack(len(header)) + header + body


def _exit_with_parent(requests_fd: int) -> None:
    """Exit the moment the request pipe's far end closes (close() or the parent's death), even
    in the middle of a render. POLLHUP is reported without being asked for."""

    def watch() -> None:
        poller = select.poll()
        poller.register(requests_fd, 0)
        while True:
            if poller.poll():
                os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _limit_cpu(budget_seconds: int) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(usage.ru_utime + usage.ru_stime) + budget_seconds
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _caused_by_memory(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, MemoryError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _render_one(renderer: ReportRenderer, payload: bytes, logs: _LogCollector) -> bytes:
    pdf = b""
    status, message = "ok", ""
    try:
        document = pickle.loads(payload)  # noqa: S301 -- from our parent, over our own pipe
        pdf = renderer.render(document)
    except Exception as exc:  # every outcome is reported
        if _caused_by_memory(exc):
            status, message = "memory", f"{type(exc).__name__}: {exc}"
        elif isinstance(exc, RenderFailed):
            status, message = "render_failed", exc.message
        else:
            status, message = "error", f"{type(exc).__name__}: {exc}"
    # Out of the except block: the failed render's frames, and whatever they held, are freed.
    return _reply(status, message, logs, pdf)


def child_main(config: dict[str, Any]) -> int:
    """The render process's loop (run by ``_BOOTSTRAP``, after the memory limit is set)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    requests = Connection(config["requests_fd"], writable=False)
    replies = Connection(config["replies_fd"], readable=False)
    _exit_with_parent(config["requests_fd"])
    logs = _LogCollector()
    root = logging.getLogger()
    root.addHandler(logs)
    root.setLevel(config["log_level"])
    try:
        renderer = _resolve(config["factory"])()
    except BaseException as exc:
        replies.send_bytes(_reply("failed", f"{type(exc).__name__}: {exc}", logs))
        return 1
    replies.send_bytes(_reply("ready", "", logs))
    while True:
        try:
            payload = requests.recv_bytes()
        except EOFError:
            return 0
        _limit_cpu(config["cpu_seconds"])
        replies.send_bytes(_render_one(renderer, payload, logs))

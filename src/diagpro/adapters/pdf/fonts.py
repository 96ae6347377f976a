"""The folder WeasyPrint writes the packaged fonts to: named after this process, removed when the
font configuration is collected or the interpreter exits, and swept by a later renderer when the
process was killed (a render process killed on a timeout never runs its clean-up)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import weakref
from pathlib import Path

from weasyprint.text.fonts import FontConfiguration

FONT_FOLDER_PREFIX = "diagpro-fonts-"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def sweep_font_folders(parent: Path | None = None) -> None:
    """Remove font folders left by renderers whose process is gone (a render process killed on
    a timeout never runs its clean-up). Only our own ``diagpro-fonts-<pid>-*`` folders."""
    parent = Path(tempfile.gettempdir()) if parent is None else parent
    with contextlib.suppress(OSError):
        for folder in parent.glob(f"{FONT_FOLDER_PREFIX}*"):
            pid = folder.name.removeprefix(FONT_FOLDER_PREFIX).split("-", 1)[0]
            if pid.isdigit() and not _pid_alive(int(pid)):
                shutil.rmtree(folder, ignore_errors=True)


def font_configuration() -> tuple[FontConfiguration, Path]:
    """A FontConfiguration whose @font-face files go to a folder named after this process, removed
    when the configuration is collected or the interpreter exits, and swept by a later renderer
    if the process was killed. (WeasyPrint writes every @font-face font to a private temporary
    folder; by default that is ``weasyprint-*``, left behind by a SIGKILL.)"""
    sweep_font_folders()
    config = FontConfiguration()
    folder = Path(tempfile.mkdtemp(prefix=f"{FONT_FOLDER_PREFIX}{os.getpid()}-"))
    config._folder = folder  # WeasyPrint 66-70: add_font_face writes here when it is set
    weakref.finalize(config, shutil.rmtree, folder, True)
    return config, folder

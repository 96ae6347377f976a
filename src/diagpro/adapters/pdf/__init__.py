"""The PDF report adapter: WeasyPrint, a Jinja2 template and packaged assets only.

``WeasyPrintRenderer`` is imported on first use: the worker renders through ``IsolatedRenderer``
in a child process, so the parent (CLI, server) need not pay for importing WeasyPrint at all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from diagpro.adapters.pdf.renderer import WeasyPrintRenderer

__all__ = ["WeasyPrintRenderer"]


def __getattr__(name: str) -> Any:
    if name == "WeasyPrintRenderer":
        from diagpro.adapters.pdf.renderer import WeasyPrintRenderer

        return WeasyPrintRenderer
    raise AttributeError(name)

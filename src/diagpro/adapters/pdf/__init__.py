"""The PDF report adapter: WeasyPrint, a Jinja2 template and packaged assets only."""

from diagpro.adapters.pdf.renderer import WeasyPrintRenderer

__all__ = ["WeasyPrintRenderer"]

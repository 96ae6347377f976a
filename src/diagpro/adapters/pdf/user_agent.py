"""WeasyPrint's user-agent stylesheet without the marker, footnote and note pseudo-elements.

WeasyPrint's HTML5 user-agent stylesheet (``weasyprint/css/html5_ua.css``) has six rules that
apply to every element: ``::marker``, ``::footnote-call``, ``::footnote-marker``,
``::note-call``, ``::note-marker`` and ``::note-callback``. WeasyPrint computes a style for each
pseudo-element a rule matches, so every element of the report got six extra computed styles,
about a twentieth of a render. The footnote and note pseudo-elements only exist for elements
floated to a footnote (``float: footnote``, CSS GCPM 3 §2) or for WeasyPrint's notes; the report
has neither. A ``::marker`` is only drawn for a list item with a list style, and every list in
the report has ``list-style: none`` (its bullets are typed, see report.css); should one ever get
a marker back, the marker keeps its default style less the sheet's tabular digits.

``ReportHTML`` is WeasyPrint's ``HTML`` with this stylesheet as its user-agent sheet. It
overrides ``HTML._ua_stylesheets`` (WeasyPrint 66-70): should a later WeasyPrint rename it, the
override is simply never called and the report renders as before, with the full sheet.
"""

from __future__ import annotations

import re
from typing import Any

from weasyprint import CSS, HTML
from weasyprint.css.counters import CounterStyle
from weasyprint.html import UA

# One rule per line in html5_ua.css; the lines that open with these pseudo-elements.
_UNUSED_PSEUDO_RULE = re.compile(
    r"^::(?:marker|footnote-call|footnote-marker|note-call|note-marker|note-callback)\b.*$",
    re.MULTILINE,
)


def report_user_agent_sheet() -> CSS:
    """WeasyPrint's user-agent stylesheet less the marker, footnote and note pseudo-element
    rules. Its @counter-style rules go to a throwaway registry: documents use WeasyPrint's own
    copy."""
    return CSS(string=_UNUSED_PSEUDO_RULE.sub("", UA), counter_style=CounterStyle())


class ReportHTML(HTML):  # type: ignore[misc]  # weasyprint has no type hints
    """``HTML`` whose user-agent stylesheet is ``user_agent_sheet`` (forms keep WeasyPrint's)."""

    def __init__(self, *args: Any, user_agent_sheet: CSS, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._report_ua = user_agent_sheet

    def _ua_stylesheets(self, forms: bool = False) -> list[CSS]:
        if forms:  # the report has no forms; never narrow what a form would need
            return list(super()._ua_stylesheets(forms))
        return [self._report_ua]

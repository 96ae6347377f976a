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

``ReportHTML`` also parses the report with the standard library's XML parser (expat) when the
text is well-formed XML, which the report template's output is: WeasyPrint's HTML5 parser
(tinyhtml5, pure Python) took about 14 ms of a 300 ms render, expat takes a fraction of a
millisecond. It builds the same tree WeasyPrint's ``HTML.__init__`` would (elements without a
namespace, ``namespace_html_elements=False``) and sets the same attributes (WeasyPrint 66-70).
Anything that is not well-formed XML (a control character in a value, say) goes through
WeasyPrint's own parser as before. The text is ours: every value in it is escaped by Jinja, so
it cannot carry a DTD or an entity declaration to the XML parser.
"""

from __future__ import annotations

import re
from typing import Any
from xml.etree import ElementTree

import cssselect2
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

    def __init__(
        self, *, string: str, user_agent_sheet: CSS, base_url: str | None = None, **kwargs: Any
    ) -> None:
        try:
            # Our template's output, every value escaped: it holds no DTD or entity declaration
            # (a value's "<" is "&lt;"), so none of expat's entity attacks apply.
            root = ElementTree.fromstring(string)  # noqa: S314
        except ElementTree.ParseError:
            super().__init__(string=string, base_url=base_url, **kwargs)
        else:
            super().__init__(string="", base_url=base_url, **kwargs)  # the rest of its setup
            self.wrapper_element = cssselect2.ElementWrapper.from_html_root(
                root, content_language=None
            )
            self.etree_element = self.wrapper_element.etree_element
        self._report_ua = user_agent_sheet

    def _ua_stylesheets(self, forms: bool = False) -> list[CSS]:
        if forms:  # the report has no forms; never narrow what a form would need
            return list(super()._ua_stylesheets(forms))
        return [self._report_ua]

"""The values an HTML form shows, by field name: what the customer sees when they edit a saved
description (inputs, selected options and text areas; the first field of a name wins)."""

from __future__ import annotations

from html.parser import HTMLParser


class _FormReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.values: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def _keep(self, name: str | None, value: str) -> None:
        if name and name not in self.values:
            self.values[name] = value

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "input" and found.get("type") not in ("checkbox", "radio", "submit"):
            self._keep(found.get("name"), found.get("value") or "")
        elif tag == "select":
            self._select = found.get("name")
        elif tag == "option" and self._select and "selected" in found:
            self._keep(self._select, found.get("value") or "")
        elif tag == "textarea":
            self._textarea = found.get("name") or ""
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self._keep(self._textarea, "".join(self._text))
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)


def form_values(html: str) -> dict[str, str]:
    reader = _FormReader()
    reader.feed(html)
    reader.close()
    return reader.values

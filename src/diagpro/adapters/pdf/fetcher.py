"""The only way WeasyPrint gets bytes from outside the HTML string: packaged assets, nothing else.

Customer and model text is escaped by the template, so no URL written by them should ever reach
this fetcher. This is the second wall, a url_fetcher that refuses what it does not know, as
WeasyPrint's security advice suggests:
https://doc.courtbouillon.org/weasyprint/stable/first_steps.html#security
Every URL that is not one of our own packaged assets is refused — http(s), ftp, file
(``/etc/passwd``, ``/dev/urandom``), data, anything. Assets are addressed as
``diagpro-asset:<name>`` (``<name>`` is the path under ``assets/``, e.g. ``fonts/DejaVuSans.ttf``)
and read from the package once, at construction, so a render never touches the filesystem or the
network. The report's fonts are packaged assets too: the body text does not depend on whatever
fonts fontconfig finds on the host.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Mapping
from importlib.resources.abc import Traversable
from types import MappingProxyType

from weasyprint.urls import URLFetcher, URLFetcherResponse

ASSET_SCHEME = "diagpro-asset"
ASSET_PREFIX = f"{ASSET_SCHEME}:"

_CONTENT_TYPES: Mapping[str, str] = {
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ttf": "font/ttf",
}


class AssetRefused(ValueError):
    """A URL that is not a packaged asset. WeasyPrint logs it and renders without it."""


def asset_url(name: str) -> str:
    return f"{ASSET_PREFIX}{name}"


def _suffix(name: str) -> str:
    return name[name.rfind(".") :] if "." in name else ""


def _walk(folder: Traversable, prefix: str, assets: dict[str, bytes]) -> None:
    for entry in folder.iterdir():
        if entry.is_dir():
            _walk(entry, f"{prefix}{entry.name}/", assets)
        elif entry.is_file() and _suffix(entry.name) in _CONTENT_TYPES:
            assets[f"{prefix}{entry.name}"] = entry.read_bytes()


def load_packaged_assets() -> dict[str, bytes]:
    """Every file under ``diagpro/adapters/pdf/assets`` with a known type, by its path there
    (``report.css``, ``fonts/DejaVuSans.ttf``). Licence texts and anything else are not served."""
    assets: dict[str, bytes] = {}
    _walk(importlib.resources.files("diagpro.adapters.pdf").joinpath("assets"), "", assets)
    return assets


class AssetOnlyFetcher(URLFetcher):  # type: ignore[misc]  # weasyprint has no type hints
    """Serves ``diagpro-asset:<name>`` from memory and refuses every other URL."""

    def __init__(self, assets: Mapping[str, bytes] | None = None) -> None:
        # No protocol is allowed to the stock fetcher; ``fetch`` below never calls it anyway.
        super().__init__(timeout=1, allowed_protocols=(), allow_redirects=False)
        loaded = load_packaged_assets() if assets is None else dict(assets)
        self._assets: Mapping[str, bytes] = MappingProxyType(loaded)

    @property
    def asset_names(self) -> frozenset[str]:
        return frozenset(self._assets)

    def asset_text(self, name: str) -> str:
        """A packaged text asset (the stylesheet). Raises KeyError if it is not packaged."""
        return self._assets[name].decode("utf-8")

    def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> URLFetcherResponse:
        if not url.startswith(ASSET_PREFIX):
            raise AssetRefused(f"refused (not a packaged asset): {url[:200]}")
        name = url[len(ASSET_PREFIX) :]
        body = self._assets.get(name)
        if body is None:
            raise AssetRefused(f"refused (no such packaged asset): {url[:200]}")
        content_type = _CONTENT_TYPES[_suffix(name)]
        return URLFetcherResponse(url, body, {"Content-Type": content_type})

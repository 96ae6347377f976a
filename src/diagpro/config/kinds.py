"""How the text of an environment variable becomes a value: one parser per kind of setting.

A parser raises ``ValueError`` with the reason only; the caller names the variable, and shows
the value unless the setting is a secret.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar
from urllib.parse import urlparse

T = TypeVar("T")

# The words an operator might type for a switch; anything else is refused, not read as false.
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


@dataclass(frozen=True)
class Kind(Generic[T]):
    """A kind of setting: its name in the configuration table, and how its text is read."""

    name: str
    parse: Callable[[str], T]
    secret: bool = False  # a secret's value is never repeated in a message
    # The value of a setting left empty with no default: only kinds where "not set" means
    # something (an adapter stays off, a secret is made locally) have one.
    absent: T | None = None


def _number(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("is not a number") from None
    if not math.isfinite(value):
        raise ValueError("is not a number")
    return value


def _whole(raw: str) -> int:
    value = _number(raw)
    # "5.0" is five, but "5.5" would silently lose half a unit: refuse it by name.
    if not value.is_integer():
        raise ValueError("must be a whole number")
    return int(value)


def _switch(raw: str) -> bool:
    word = raw.lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError("must be true or false")


def _url(raw: str) -> str:
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError("must be an http(s) URL")
    return raw.rstrip("/")


def _currency(raw: str) -> str:
    code = raw.lower()
    if len(code) != 3 or not code.isalpha():
        raise ValueError("must be a 3-letter ISO code like usd")
    return code


def _keys(raw: str) -> tuple[str, ...]:
    keys = tuple(key.strip() for key in raw.split(",") if key.strip())
    if any(len(key) < 16 for key in keys):
        raise ValueError("each key must be at least 16 characters long")
    return keys


def choice(*options: str, absent: str | None = None) -> Kind[str]:
    """One word out of ``options``, in any letter case; ``absent`` when a choice may be left
    unmade (the caller then decides what no choice means)."""

    def parse(raw: str) -> str:
        word = raw.lower()
        if word not in options:
            raise ValueError("must be " + " or ".join(options))
        return word

    return Kind("one of " + ", ".join(options), parse, absent=absent)


def _port(raw: str) -> int:
    value = _whole(raw)
    if not 1 <= value <= 65535:
        raise ValueError("must be a TCP port, 1-65535")
    return value


def _ip_address(raw: str) -> str:
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        raise ValueError("must be an IP address like 127.0.0.1 or ::1") from None


TEXT: Kind[str] = Kind("text", str, absent="")
SECRET: Kind[str] = Kind("secret", str, secret=True, absent="")
KEYS: Kind[tuple[str, ...]] = Kind("secrets, comma-separated", _keys, secret=True, absent=())
WHOLE: Kind[int] = Kind("whole number", _whole)
NUMBER: Kind[float] = Kind("number", _number)
# A number where "not set" means "not known" (a price nobody gave): 0.
OPTIONAL_NUMBER: Kind[float] = Kind("number", _number, absent=0.0)
SWITCH: Kind[bool] = Kind("true or false", _switch)
URL: Kind[str] = Kind("http(s) URL", _url, absent="")
CURRENCY: Kind[str] = Kind("ISO 4217 code", _currency)
PORT: Kind[int] = Kind("TCP port", _port, absent=0)
FOLDER: Kind[Path] = Kind("folder", lambda raw: Path(raw).absolute())
IP_ADDRESS: Kind[str] = Kind("IP address", _ip_address)


def _origins(raw: str) -> tuple[str, ...]:
    # An origin is scheme://host[:port], nothing more (RFC 6454 §7): what browsers send in the
    # Origin header, and what CORS compares it with.
    origins = tuple(origin.strip().rstrip("/") for origin in raw.split(",") if origin.strip())
    for origin in origins:
        parsed = urlparse(origin)
        if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.path:
            raise ValueError(f"{origin!r} is not an origin like https://shop.example.com")
    return origins


ORIGINS: Kind[tuple[str, ...]] = Kind("origins, comma-separated", _origins, absent=())

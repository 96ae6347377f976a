"""Reading every declared setting from an environment, collecting every problem on the way.

Only reads: nothing here touches the disk or the network.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from diagpro.config.declarations import SETTINGS, Setting

T = TypeVar("T")


class Values:
    """The parsed value of every declared setting, and the problems found reading them."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.problems: list[str] = []
        self._given = {s.env for s in SETTINGS if env.get(s.env, "").strip()}
        self._values: dict[str, Any] = {s.env: self._read(s, env) for s in SETTINGS}

    def __getitem__(self, setting: Setting[T]) -> T:
        value: T = self._values[setting.env]
        return value

    def given(self, *settings: Setting[Any]) -> bool:
        """Whether the environment sets any of ``settings`` to something other than blank."""
        return any(s.env in self._given for s in settings)

    def refuse(self, problem: str) -> None:
        self.problems.append(problem)

    def _read(self, setting: Setting[T], env: Mapping[str, str]) -> T:
        raw = env.get(setting.env, "").strip()
        if raw:
            try:
                value = setting.kind.parse(raw)
                self._check(setting, value)
                return value
            except ValueError as reason:
                self.refuse(_named(setting, raw, str(reason)))
        # Not given, or given wrong (already named): carry on with the default so every other
        # problem is found too.
        return _default(setting)

    def _check(self, setting: Setting[T], value: T) -> None:
        low = setting.minimum
        if low is not None and isinstance(value, int | float) and value < low:
            raise ValueError(f"must be at least {low:g}")
        reason = setting.check(value) if setting.check else None
        if reason:
            raise ValueError(reason)


def _named(setting: Setting[Any], raw: str, reason: str) -> str:
    if setting.kind.secret:
        return f"{setting.env}: {reason}"  # a secret is never repeated, even a wrong one
    return f"{setting.env}={raw!r} {reason}"


def _default(setting: Setting[T]) -> T:
    if setting.default:
        return setting.kind.parse(setting.default)
    if setting.kind.absent is None:
        raise LookupError(f"{setting.env} is declared with no default and no absent value")
    return setting.kind.absent

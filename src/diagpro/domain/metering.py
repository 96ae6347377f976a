"""The meter that counts nothing: the default of every use case, so tests and tools that do not
look at metrics need not pass one."""

from __future__ import annotations


class NoMeter:
    """A Meter (domain/ports.py) that forgets everything it is told."""

    def order(self, outcome: str) -> None:
        pass

    def payment_event(self, event_type: str, outcome: str) -> None:
        pass

    def model_call(self, outcome: str, seconds: float, tokens_in: int, tokens_out: int) -> None:
        pass

    def render(self, outcome: str, seconds: float) -> None:
        pass

    def email(self, event: str, outcome: str) -> None:
        pass

    def paid_to_ready(self, seconds: float) -> None:
        pass

    def webhook(self, seconds: float) -> None:
        pass


NO_METER = NoMeter()

"""The one vocabulary the feature steps speak, and the three services it can be spoken to:
in-process (use cases on the test harness), serve (HTTP to a ``diagpro serve`` this run started)
and url (HTTP to any deployed diagpro)."""

from tests.features.drivers.base import (
    Checkout,
    Delivery,
    Driver,
    Links,
    Progress,
    Refusal,
    Why,
)

__all__ = ["Checkout", "Delivery", "Driver", "Links", "Progress", "Refusal", "Why"]

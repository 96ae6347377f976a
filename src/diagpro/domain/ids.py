"""Submission ids: the original's ``diag_<epoch ms>_<hex>`` shape with far more randomness.

The id is the only key to a customer's report (there are no accounts), so the original's 32
random bits were guessable at scale; 96 bits are not.
"""

from __future__ import annotations

import re
from datetime import datetime

RANDOM_HEX_CHARS = 24  # 96 random bits: out of reach of guessing even with millions of ids

# Lookups also accept the original's 8-hex ids so old links still resolve to a clear 404.
_SUBMISSION_ID = re.compile(r"^diag_\d{13}_[0-9a-f]{8,32}$")


def format_submission_id(now: datetime, random_hex: str) -> str:
    if len(random_hex) < RANDOM_HEX_CHARS or not re.fullmatch(r"[0-9a-f]+", random_hex):
        raise ValueError("a submission id needs at least 24 lower-case hex characters of entropy")
    return f"diag_{int(now.timestamp() * 1000):013d}_{random_hex}"


def is_submission_id(value: str) -> bool:
    return bool(_SUBMISSION_ID.match(value))

"""Diagnostic codes found in what the customer wrote (the original's extractDiagnosticCodes).

Customers paste codes into any field, so every free-text field is scanned. Four families:
OBD-II (P/B/C/U + 4), J1939 (SPN n FMI m), equipment codes (ERR-42, FAULT 7, ALM 12) and blink
codes (blink code 3-2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from diagpro.domain.intake import Intake


class CodeFamily(StrEnum):
    OBD2 = "obd2"
    J1939 = "j1939"
    EQUIPMENT = "equipment"
    BLINK = "blink"


@dataclass(frozen=True)
class DetectedCode:
    family: CodeFamily
    code: str  # normalised: P0301, SPN520198/FMI7, ERR-42, FLASH:3-2


_OBD2 = re.compile(r"\b([PBCU][0-9A-F]{4})\b", re.IGNORECASE)
_J1939 = re.compile(r"\bSPN\s*(\d{1,6})\s*[/\s,]*FMI\s*(\d{1,2})\b", re.IGNORECASE)
_EQUIPMENT = re.compile(r"\b(ERR|FAULT|CODE|ERROR|ALM)[-\s]?(\d{1,5})\b", re.IGNORECASE)
_BLINK = re.compile(
    r"\b(?:blink|flash)(?:es|ing)?\s*(?:code)?\s*(\d(?:\s*[-,]\s*\d)?)\b", re.IGNORECASE
)


def _texts(intake: Intake) -> list[str]:
    return [
        intake.error_codes,
        ", ".join(intake.symptoms),
        intake.problem_description,
        intake.troubleshooting_steps,
        intake.modifications,
        intake.previous_repairs,
        *(value for _, value in intake.details),
    ]


def extract_codes(intake: Intake) -> tuple[DetectedCode, ...]:
    """Every distinct code in the order the customer wrote them."""
    found: list[DetectedCode] = []

    def add(family: CodeFamily, code: str) -> None:
        detected = DetectedCode(family, code)
        if detected not in found:
            found.append(detected)

    for text in _texts(intake):
        if not text:
            continue
        for match in _OBD2.finditer(text):
            # Real codes start with a digit after the letter (P0301, U0100); "BEEF" is a word.
            code = match.group(1).upper()
            if code[1].isdigit():
                add(CodeFamily.OBD2, code)
        for match in _J1939.finditer(text):
            add(CodeFamily.J1939, f"SPN{int(match.group(1))}/FMI{int(match.group(2))}")
        # "blink code 3" is a blink code, not the equipment code "CODE-3".
        blink_spans = [m.span() for m in _BLINK.finditer(text)]
        for match in _EQUIPMENT.finditer(text):
            if any(start <= match.start() < end for start, end in blink_spans):
                continue
            add(CodeFamily.EQUIPMENT, f"{match.group(1).upper()}-{int(match.group(2))}")
        for match in _BLINK.finditer(text):
            digits = re.sub(r"\s*[-,]\s*", "-", match.group(1))
            add(CodeFamily.BLINK, f"FLASH:{digits}")
    return tuple(found)

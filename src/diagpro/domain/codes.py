"""Diagnostic codes found in what the customer wrote (the original's extractDiagnosticCodes).

Customers paste codes into any field, so every free-text field is scanned. Four families:

* OBD-II (P/B/C/U + 4 characters);
* J1939 (SPN n FMI m), also as Deere and Case display them ("ECU 000110.00", "523773.03":
  the suspect parameter number, a dot, then the failure mode);
* equipment codes: a word and a number (ERR-42, FAULT 7, ALM 12, "error 4013",
  "iTunes error 9", "An unknown error occurred (4013)", "código 17") and, on furnaces and farm
  or compact machines, a display code such as Lennox's "E 223";
* blink codes: a light flashing a count, however it is described ("blink code 3-2",
  "flashes 3 times, then pauses", "3 then 1", "3 short 1 long", "parpadea 3 veces").

A blink pattern is one code: "3 flashes, pause, 1 flash" is code 3-1 (Carrier reads the first
group as the tens digit), never a code 3 and a code 1. On a furnace a two-digit "code 31" is
the same 3-1 pattern, because that is how the makers' status labels print it.
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
    code: str  # normalised: P0301, SPN520198/FMI7, ERR-42, ERROR-4013, E-223, FLASH:3-2


# Categories whose control boards count faults out on a light, so that a bare "3-1" or
# "code 31" in the codes field is a flash code.
_FLASH_CATEGORIES = frozenset({"hvac"})
# Categories whose displays show letter-prefixed codes ("E 223" on a Lennox board).
_DISPLAY_CODE_CATEGORIES = frozenset({"hvac", "farm-ag", "compact-equipment"})

_OBD2 = re.compile(r"\b([PBCU][0-9A-F]{4})\b", re.IGNORECASE)
_J1939 = re.compile(r"\bSPN\s*(\d{1,6})\s*[/\s,]*FMI\s*(\d{1,2})\b", re.IGNORECASE)
# Deere and Case print J1939 faults as "<controller> <SPN>.<FMI>"; a bare one needs the
# six-digit SPN so that a price such as "110.00" is not read as a code.
_DOTTED_SPN = re.compile(
    r"(?:\b(?:ECU|TCU|HCU|SSU|PTP|CCU|ACU|BCU|ICU|VTI|XMC|ATC|CAB)\s*-?\s*(\d{1,6})"
    r"|(?<![\d$.,])\b(\d{6}))\.(\d{2})\b(?!\.\d)",
    re.IGNORECASE,
)
_EQUIPMENT = re.compile(
    r"\b(ERR|ERROR|FAULT|CODE|C[OÓ]DIGO|ALM|ALARM)(?:\s+(?:CODE|C[OÓ]DIGO))?"
    r"\s*[-#:]?\s*(\d{1,5})\b(?![.,]\d)",
    re.IGNORECASE,
)
# Apple's restore dialog: "An unknown error occurred (4013)" / "...error desconocido (4013)".
_ERROR_IN_BRACKETS = re.compile(r"\berror\b[^()\n]{0,40}\((\d{1,5})\)", re.IGNORECASE)
_DISPLAY_CODE = re.compile(r"\bE\s?-?(\d{3,4})\b")
# Words that say the same number is the same code: "error 9", "error code 9", "code 9".
_ERROR_WORDS = frozenset({"ERR", "ERROR", "CODE"})

# --- blink patterns -------------------------------------------------------------------------

_NUMBER_WORDS = {
    "one": 1, "once": 1, "two": 2, "twice": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "uno": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4,
    "cinco": 5, "seis": 6, "siete": 7, "ocho": 8, "nueve": 9,
}  # fmt: skip
# Not the head of "2.5" or "1,234" ("3,1" is a pattern: a comma and one digit).
_NUMBER = r"([1-9]|" + "|".join(_NUMBER_WORDS) + r")(?!\w|\.\d|,\d\d)"
_COUNT = r"(?<![\w.,-])" + _NUMBER  # not the tail of "1,234" or "P0301-3"
# What may follow a count: "3 times", "3 short", "3 long flashes", "3 veces", "3 destellos".
_UNIT = (
    r"(?:\s*(?:times?|x|veces|vez|short|long|cortos?|largos?|"
    r"blinks?|flash(?:es)?|destellos?|parpadeos?|pulsos?))*"
)
# What may sit between the two groups of one pattern: "3 then 1", "3-1", "3, pause, 1".
_BETWEEN = (
    r"(?:\s*(?:[-,/]|and|then|followed\s+by|(?:a\s+)?(?:long\s+)?pause[sd]?|"
    r"y|luego|despu[eé]s|seguid[oa]s?\s+de|(?:una\s+)?pausa|blinks?|flash(?:es)?|"
    r"parpadea|destella)\s*)*\s*"
)
# A number followed by one of these is a duration or a quantity, not a flash count.
_NOT_A_COUNT = (
    r"(?!\s*(?:min|minutes?|hours?|hrs?|h|sec|secs|seconds?|s|days?|weeks?|months?|years?|"
    r"yrs?|minutos?|horas?|segundos?|d[ií]as?|semanas?|meses|a[nñ]os?|%|°|degrees|"
    r"grados|times\s+a|veces\s+al|veces\s+por)\b)"
)
_TWO_GROUPS = re.compile(
    _COUNT + _UNIT + _BETWEEN + r"(?<![\w.])" + _NUMBER + _UNIT + _NOT_A_COUNT, re.IGNORECASE
)
_ONE_GROUP = re.compile(
    r"(?:(?:blink|flash|parpade|destell)\w*\s*(?:code\s*|c[oó]digo\s*)?" + _COUNT
    + r"|" + _COUNT + r"\s*(?:times?|x|veces|blinks?|flash(?:es)?|destellos?|parpadeos?)\b)"
    + _NOT_A_COUNT,
    re.IGNORECASE,
)  # fmt: skip
_TWO_DIGIT = re.compile(r"\b(?:code|c[oó]digo)\s*#?\s*([1-9])([1-9])\b(?![.,]\d)", re.IGNORECASE)
# In a furnace's codes field a bare "31" or "3" is the flash code itself.
_BARE = re.compile(r"(?<![\w.,-])([1-9])([1-9])?(?![\w-]|[.,]\d)")
_BLINK_WORD = re.compile(r"\b(?:blink|flash|LED|parpade|destell)", re.IGNORECASE)
_CLAUSE_END = re.compile(r"[.;!?\n]+(?:\s|$)")


def _count(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBER_WORDS[word.lower()]


def _blink_codes(
    text: str, flash_board: bool, anywhere: bool
) -> tuple[list[str], list[tuple[int, int]]]:
    """Blink codes in one text and the spans they used. Only clauses that talk about a light
    flashing are read, unless ``anywhere`` (the codes field of a furnace); on a furnace
    (``flash_board``) "code 31" is the 3-1 pattern."""
    codes: list[str] = []
    spans: list[tuple[int, int]] = []
    start = 0
    for end_match in (*_CLAUSE_END.finditer(text), None):
        end = end_match.start() if end_match else len(text)
        clause = text[start:end]
        if anywhere or flash_board or _BLINK_WORD.search(clause):
            for code, (low, high) in _clause_blinks(clause, flash_board, anywhere):
                codes.append(code)
                spans.append((start + low, start + high))
        start = end_match.end() if end_match else len(text)
    return codes, spans


def _clause_blinks(
    clause: str, flash_board: bool, anywhere: bool
) -> list[tuple[str, tuple[int, int]]]:
    found: list[tuple[str, tuple[int, int]]] = []
    taken: list[tuple[int, int]] = []

    def free(span: tuple[int, int]) -> bool:
        return not any(span[0] < high and low < span[1] for low, high in taken)

    counted = anywhere or _BLINK_WORD.search(clause) is not None
    for match in _TWO_GROUPS.finditer(clause) if counted else ():
        found.append((f"FLASH:{_count(match.group(1))}-{_count(match.group(2))}", match.span()))
        taken.append(match.span())
    if flash_board or counted:
        for match in _TWO_DIGIT.finditer(clause):
            if free(match.span()):
                found.append((f"FLASH:{match.group(1)}-{match.group(2)}", match.span()))
                taken.append(match.span())
    for match in _BARE.finditer(clause) if anywhere else ():
        if free(match.span()):
            pattern = "-".join(g for g in match.groups() if g)
            found.append((f"FLASH:{pattern}", match.span()))
            taken.append(match.span())
    for match in _ONE_GROUP.finditer(clause) if counted else ():
        if free(match.span()):
            word = match.group(1) or match.group(2)
            found.append((f"FLASH:{_count(word)}", match.span()))
            taken.append(match.span())
    found.sort(key=lambda item: item[1])
    return found


# --- all families ---------------------------------------------------------------------------


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


class _Found:
    """Distinct codes in the order the customer wrote them."""

    def __init__(self) -> None:
        self.codes: list[DetectedCode] = []
        self._error_numbers: set[str] = set()

    def add(self, family: CodeFamily, code: str) -> None:
        if family == CodeFamily.EQUIPMENT:
            word, _, number = code.rpartition("-")
            if word in _ERROR_WORDS:
                if number in self._error_numbers:
                    return  # "error 4013" and "error code 4013" are one code
                self._error_numbers.add(number)
        detected = DetectedCode(family, code)
        if detected not in self.codes:
            self.codes.append(detected)

    def result(self) -> tuple[DetectedCode, ...]:
        # "Flashes 3 times" in one sentence and "then once" in the next is the 3-1 pattern:
        # the lone 3 and the lone 1 are its groups, not more codes.
        groups = {
            f"FLASH:{group}"
            for c in self.codes
            if _is_flash(c) and "-" in c.code
            for group in c.code.removeprefix("FLASH:").split("-")
        }
        return tuple(c for c in self.codes if not (_is_flash(c) and c.code in groups))


def _is_flash(code: DetectedCode) -> bool:
    return code.family == CodeFamily.BLINK


def _codes_in(text: str, category: str, codes_field: bool) -> list[tuple[int, CodeFamily, str]]:
    """(position, family, code) for every code in one text."""
    found: list[tuple[int, CodeFamily, str]] = []
    for match in _OBD2.finditer(text):
        # Real codes start with a digit after the letter (P0301, U0100); "BEEF" is a word.
        code = match.group(1).upper()
        if code[1].isdigit():
            found.append((match.start(), CodeFamily.OBD2, code))
    for match in _J1939.finditer(text):
        code = f"SPN{int(match.group(1))}/FMI{int(match.group(2))}"
        found.append((match.start(), CodeFamily.J1939, code))
    for match in _DOTTED_SPN.finditer(text):
        spn, fmi = int(match.group(1) or match.group(2)), int(match.group(3))
        if fmi <= 31:  # J1939 defines FMI 0-31; anything else is not this kind of code
            found.append((match.start(), CodeFamily.J1939, f"SPN{spn}/FMI{fmi}"))
    flash_board = category in _FLASH_CATEGORIES
    # The codes field of a furnace holds flash codes even without the word "flash".
    blinks, blink_spans = _blink_codes(text, flash_board, anywhere=flash_board and codes_field)
    for match in _EQUIPMENT.finditer(text):
        if any(match.start() < end and start < match.end() for start, end in blink_spans):
            continue  # "blink code 3" is a blink code, not the equipment code "CODE-3"
        word = match.group(1).upper().replace("Ó", "O").replace("CODIGO", "CODE")
        found.append((match.start(), CodeFamily.EQUIPMENT, f"{word}-{int(match.group(2))}"))
    for match in _ERROR_IN_BRACKETS.finditer(text):
        found.append((match.start(), CodeFamily.EQUIPMENT, f"ERROR-{int(match.group(1))}"))
    if category in _DISPLAY_CODE_CATEGORIES:
        for match in _DISPLAY_CODE.finditer(text):
            found.append((match.start(), CodeFamily.EQUIPMENT, f"E-{int(match.group(1))}"))
    found += [
        (start, CodeFamily.BLINK, code)
        for code, (start, _) in zip(blinks, blink_spans, strict=True)
    ]
    found.sort(key=lambda item: item[0])
    return found


def extract_codes(intake: Intake) -> tuple[DetectedCode, ...]:
    """Every distinct code in the order the customer wrote them."""
    found = _Found()
    for index, text in enumerate(_texts(intake)):
        for _, family, code in _codes_in(text, intake.equipment_type, codes_field=index == 0):
            found.add(family, code)
    return found.result()

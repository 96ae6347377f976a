"""How much of each text and list the report prints, so its length is bounded whatever the input.

Every limit here exists so that the worst case (every field at its maximum) stays near 25 pages;
tests/unit/test_pdf_renderer.py renders that case. Text limits count prose characters of printed
width (see ``measure.py``), not ``len()``.
"""

from __future__ import annotations

# Intake text is bounded by the domain (5000 characters); line breaks are not, and 5000 blank
# lines would be 100 pages. Keep at most this many paragraphs per field; the rest is joined.
MAX_PARAGRAPHS = 40
# The customer's long answers are reprinted for the mechanic: at most this many characters and
# paragraphs per field (the customer has the full text; the shop needs the gist). The problem
# description gets the most room; history, codes as typed and the shop's words less.
INTAKE_TEXT_LIMIT = 1500
HISTORY_TEXT_LIMIT = 800
INTAKE_PARAGRAPHS = 12
SYMPTOM_LIMIT = 120
# The analysis has no length limits in the domain: bound what one section can print.
SUMMARY_LIMIT = 3000
POINT_LIMIT = 600
MAX_POINTS = 16
# Summary plus points of one section, in characters (the tightest of these limits wins): the
# primary diagnosis gets more room than the others. A realistic section is 500 to 2000
# characters. The point that crosses the budget is clipped and the rest are counted as omitted.
SECTION_BUDGET = 1800
PRIMARY_BUDGET = 3000
# A section intro (heading and summary) at most this long is kept on the page of the table or
# list that follows it; a longer one may be split from it (keeping it would leave a blank page).
KEEP_INTRO_LIMIT = 700
CAUSE_LIMIT = 400
DATA_NEEDED_LIMIT = 10
DATA_NEEDED_ITEM_LIMIT = 300
COVER_NAME_LIMIT = 90
HEADER_NAME_LIMIT = 60  # the equipment name in the running header
COVER_PERSON_LIMIT = 80
CLIP_MARK = " […]"
WORD_BREAK_SEARCH = 24  # a clipped text ends at the last space this close to the limit
# "Approve now: ..." prints its label in bold when the label is at most this long.
LEAD_LIMIT = 56

# Structured fields: rows per table or list, and characters per cell.
MAX_CAUSE_ROWS = 5  # section 12; section 2 shows the alternatives among them
MAX_EVIDENCE = 2
MAX_TEST_ROWS = 5
MAX_COST_ROWS = 4
MAX_QUESTIONS = 8
MAX_SAFETY_FLAGS = 5
MAX_NEXT_STEPS = 3
NAME_LIMIT = 100  # a cause, a test or a repair
CELL_LIMIT = 240  # reasoning, how to test, expected reading
NOTE_LIMIT = 160  # a cost estimate's note
ITEM_LIMIT = 240  # a question, a safety flag
NEXT_STEP_LIMIT = 400  # one of the three next steps
EVIDENCE_LIMIT = 120
# The at-a-glance page must stay one page whatever the input: it shows fewer and shorter items
# (each in full elsewhere: the cause in section 1, flags in 13, steps in 15, data needed in 1).
# Safety flags, data needed and next steps share GLANCE_LINES full-width lines (of about
# GLANCE_LINE_CHARS prose characters); when they need more, data needed goes first, then the
# flags after the first, then the steps are shortened (see _fit_glance).
GLANCE_LINES = 14
GLANCE_LINE_CHARS = 90
GLANCE_CAUSE_LIMIT = 120
GLANCE_FLAGS = 2
GLANCE_FLAG_LIMIT = 230
GLANCE_DATA_NEEDED = 2
GLANCE_DATA_LIMIT = 120
GLANCE_STEP_LIMIT = 230
GLANCE_SHORT_STEP_LIMIT = 170
GLANCE_OTHER_CAUSES = 3
GLANCE_OTHER_LIMIT = 45
GLANCE_REPAIR_LIMIT = 64

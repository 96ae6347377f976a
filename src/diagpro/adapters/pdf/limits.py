"""How much of each text and list the report prints, so its length is bounded whatever the input.

A typical report is 4 to 6 pages; these limits hold the worst case (every list far too long,
every text far too long, in wide glyphs) to at most 8 (tests/unit/test_pdf_renderer.py renders
it). The list caps are the compact analysis schema's (a model is asked for no more), so a real
report never meets them. Text limits count prose characters of printed width (``measure.py``),
not ``len()``; a text over its limit keeps its whole sentences that fit, and only a single
sentence longer than the limit is cut at a word, ending with SHORTENED_MARK.
"""

from __future__ import annotations

# Intake text is bounded by the domain (5000 characters); line breaks are not, and 5000 blank
# lines would be 100 pages. Keep at most this many paragraphs per field; the rest is joined.
MAX_PARAGRAPHS = 12
# The owner's own words are reprinted once, for the technician: the description gets the most
# room, each history field less (the owner keeps the full text; the shop needs the gist).
INTAKE_TEXT_LIMIT = 800
HISTORY_TEXT_LIMIT = 300
INTAKE_PARAGRAPHS = 4
SYMPTOM_LIMIT = 100
MAX_SYMPTOMS = 6
SHORT_FIELD_LIMIT = 90  # make, model, location, a detail's value
TITLE_LIMIT = 110  # the equipment name in the title
PERSON_LIMIT = 80
SHORTENED_MARK = "…"
WORD_BREAK_SEARCH = 24  # a cut sentence ends at the last space this close to the limit

# The analysis: items per list (the compact schema's maxima) and characters per text.
MAX_CAUSES = 4
MAX_EVIDENCE = 2  # for, and against, each
MAX_FACTS = 5
MAX_RULED_OUT = 4
MAX_CODES = 6
MAX_SAFETY = 3
MAX_STOP_IF = 3
MAX_OWNER_CHECKS = 3
MAX_SHOP_TESTS = 4
MAX_DO_NOT = 3
MAX_REPAIRS = 3
MAX_WORST_CASES = 2
MAX_QUESTIONS = 5
MAX_NEXT_STEPS = 3
MAX_SOURCES = 3
MAX_DATA_NEEDED = 4
NAME_LIMIT = 90  # a cause, a test, a repair, a code's system
CAUSE_LIMIT = 200  # the most likely cause on the first page
ITEM_LIMIT = 180  # a fact, a reason, a check, a warning, a question, a step
CELL_LIMIT = 150  # a table cell: why, how, expected reading, meaning
EVIDENCE_LIMIT = 90
REASON_LIMIT = 260  # the urgency's reason, the quote's explanation
HOW_IT_WORKS_LIMIT = 500
MODEL_LIMIT = 60

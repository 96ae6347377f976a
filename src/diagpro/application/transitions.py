"""Apply a change to a stored submission under compare-and-set, retrying when we lose a race."""

from __future__ import annotations

from collections.abc import Callable

from diagpro.domain.errors import ConcurrentUpdate
from diagpro.domain.ports import SubmissionStore
from diagpro.domain.submission import Submission

MAX_RACES = 20


def change_submission(
    store: SubmissionStore,
    submission_id: str,
    change: Callable[[Submission], Submission | None],
    known: Submission | None = None,
) -> tuple[Submission, bool]:
    """Load, apply ``change`` (None means "nothing to do"), save with compare-and-set.

    Returns the submission as stored and whether this call changed it. Losing a race reloads and
    decides again on the fresh state, so a concurrent duplicate turns into a no-op, not an error.
    ``known`` is the submission as the caller just read it: the first try starts from it instead
    of reading again, and the compare-and-set still refuses it if it is no longer current.
    """
    for attempt in range(MAX_RACES):
        current = known if attempt == 0 and known is not None else store.get(submission_id)
        changed = change(current)
        if changed is None:
            return current, False
        try:
            store.update(changed)
        except ConcurrentUpdate:
            continue
        return changed, True
    raise ConcurrentUpdate(submission_id)

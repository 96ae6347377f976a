"""Firestore adapters: SubmissionStore, ProcessedEvents and JobQueue on Cloud Firestore.

Collections (names configurable per adapter):

* ``diagnosticSubmissions/{submission_id}`` — the codec's submission document plus
  ``createdAt``/``updatedAt`` timestamps; updates are compare-and-set transactions on ``version``.
* ``stripeEvents/{event_id}`` — one ``create()`` per handled payment event (the dedupe gate).
* ``jobs/{job_id}`` and ``jobLocks/{submission_id}`` — the durable job queue.
* ``health/probe`` — one document the health check writes and reads back (``StoreProbe``).

Indexes needed in production (the emulator needs none): one composite index on ``jobs``,
``state ASC, due_at ASC, arrived ASC``, for the due-jobs query of ``claim``, ``due`` and
``next_due`` (declared in ``indexes.py``, shipped in ``deploy/firestore.indexes.json``);
everything else uses Firestore's automatic single-field indexes. Operators querying submissions
by ``status`` ordered by ``updatedAt`` would add ``diagnosticSubmissions: status ASC,
updatedAt DESC``.

Every SDK error that is not a domain answer surfaces as ``FirestoreUnavailable``, a
``StoreUnavailable``: the error the store ports declare.
"""

from diagpro.adapters.firestore._edge import FirestoreUnavailable
from diagpro.adapters.firestore.events import FirestoreProcessedEvents
from diagpro.adapters.firestore.health import FirestoreStoreProbe
from diagpro.adapters.firestore.jobs import FirestoreJobQueue
from diagpro.adapters.firestore.submissions import FirestoreSubmissionStore

__all__ = [
    "FirestoreJobQueue",
    "FirestoreProcessedEvents",
    "FirestoreStoreProbe",
    "FirestoreSubmissionStore",
    "FirestoreUnavailable",
]

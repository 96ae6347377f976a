"""Firestore's StoreProbe: one document, ``health/probe``, written and read back.

Always the same document, so probing never grows the database (one write per probe; the
caller caches the answer for a few seconds, so a busy probe costs a few writes a minute).
"""

from __future__ import annotations

from datetime import datetime

from google.cloud import firestore

from diagpro.adapters.firestore._edge import RPC_TIMEOUT, FirestoreUnavailable, translated
from diagpro.adapters.job_rules import utc


class FirestoreStoreProbe:
    def __init__(self, client: firestore.Client, collection: str = "health") -> None:
        self._doc = client.collection(collection).document("probe")

    def probe(self, now: datetime) -> None:
        stamp = utc(now)
        with translated("health probe"):
            self._doc.set({"checked_at": stamp}, timeout=RPC_TIMEOUT)
            snapshot = self._doc.get(timeout=RPC_TIMEOUT)
        if not snapshot.exists:
            raise FirestoreUnavailable("Firestore health probe: the probe write was lost")

"""Save a submission: the one door every entrypoint uses to accept a customer's problem."""

from __future__ import annotations

from diagpro.domain.intake import validate_intake
from diagpro.domain.payment import Price
from diagpro.domain.ports import Clock, IdSource, SubmissionStore
from diagpro.domain.submission import Status, Submission


class SaveSubmission:
    def __init__(
        self, submissions: SubmissionStore, ids: IdSource, clock: Clock, price: Price
    ) -> None:
        self._submissions = submissions
        self._ids = ids
        self._clock = clock
        self._price = price

    def __call__(self, payload: object) -> Submission:
        """Validate and store as pending. IntakeInvalid names every bad field; nothing is stored."""
        intake = validate_intake(payload)
        now = self._clock.now()
        submission = Submission(
            id=self._ids.submission_id(now),
            intake=intake,
            status=Status.PENDING,
            created_at=now,
            updated_at=now,
            price_cents=self._price.cents,
            currency=self._price.currency,
        )
        self._submissions.add(submission)
        return submission

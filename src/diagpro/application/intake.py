"""Save a submission: the one door every entrypoint uses to accept a customer's problem."""

from __future__ import annotations

from diagpro.domain.errors import FieldProblem, IntakeInvalid
from diagpro.domain.intake import validate_intake
from diagpro.domain.metering import NO_METER
from diagpro.domain.payment import Price
from diagpro.domain.ports import Clock, IdSource, Meter, SubmissionStore
from diagpro.domain.submission import Status, Submission


class SaveSubmission:
    def __init__(
        self,
        submissions: SubmissionStore,
        ids: IdSource,
        clock: Clock,
        price: Price,
        meter: Meter = NO_METER,
    ) -> None:
        self._submissions = submissions
        self._ids = ids
        self._clock = clock
        self._price = price
        self._meter = meter

    def __call__(self, payload: object, price_cents: int | None = None) -> Submission:
        """Validate and store as pending. IntakeInvalid names every bad field; nothing is stored.

        ``price_cents`` is the price the client showed, when it says (the original frontend
        does): a client showing another price is refused, never charged a different amount.
        """
        if price_cents is not None and price_cents != self._price.cents:
            wrong_price = FieldProblem(
                "priceCents", f"is {price_cents}, but the price is {self._price.cents}"
            )
            try:
                validate_intake(payload)
            except IntakeInvalid as exc:  # named with whatever else the intake rule refuses
                raise IntakeInvalid([*exc.problems, wrong_price]) from exc
            raise IntakeInvalid([wrong_price])
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
        self._meter.order("saved")
        return submission

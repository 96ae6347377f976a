"""The use cases. Each is a class called one way, ``use_case(...)``, built by the container.

Where the commit boundaries are
-------------------------------
There is no transaction across stores (the submission store, the job queue, the processed
events, the report store and the payment provider are separate systems in production). Instead
every use case is a short sequence of numbered steps (``# step 1 of 2: ...`` in the code); each
step is ONE atomic write on ONE store (a compare-and-set on the submission, one queue operation,
one record), and the steps are ordered so that a crash between two of them is repaired by running
the use case again, which the outside world does anyway:

- ``Fulfil``: 1. mark the submission paid; 2. queue its job. Crash between: the submission is
  paid without a job. Stripe redelivers the event (the webhook answered no 2xx); step 1 is then
  a no-op and step 2 queues the job. ``/reports/ensure`` and ``diagpro requeue`` queue it too.
- ``HandlePaymentEvent``: 1. apply the event (for a payment: ``Fulfil``'s steps; otherwise one
  write on the submission); 2. record the event and its outcome. Crash between: the event is
  applied but not recorded; Stripe redelivers it (it does until it gets a 2xx) and applying it
  again is idempotent.
- ``OpenCheckoutSession``: 1. open the session at the provider (idempotent on the submission's
  key); 2. note it on the submission. Crash between: the next click opens with the same key and
  gets the same session back.
- ``RequeueSubmission``: 1. move a failed submission back to paid; 2. queue a job. Crash between:
  asking again (``diagpro requeue``, ``/reports/ensure``) finds it paid, skips step 1, queues.
- ``RequeueOrder`` and ``RefundOrder`` (an operator's actions, application/operator_actions.py):
  1. the action (``make_due`` and the announcement, ``RequeueSubmission``'s steps, or the
  refund's: the provider, then ``mark_refunded``, then ``cancel`` the report job); 2. record it on
  the submission. Crash between: the action stands and is in the log, unrecorded on the order;
  a refund asked again finds the order refunded and says so (the provider's refund is
  idempotent on the payment). Crash between the refund and ``cancel``: a worker claiming the
  job finds the order refunded and completes the job without a report.
- ``RemakeLostReport`` (a ready submission whose report file is gone; called when its status or
  a link is asked for, by ``EnsureReport`` and ``RequeueSubmission``): 1. move it back to paid,
  keeping its analysis; 2. queue a job. Crash between: it is paid without a job; ``diagpro
  requeue`` or ``/reports/ensure`` queues it.
- ``ProcessJobs``: 1. mark processing; 2. keep the analysis on the submission; 3. store the PDF;
  4. mark ready; then complete the job. Each step is skipped when a past attempt already did it,
  so a crash anywhere leaves a lease that runs out and the next claim resumes at the first step
  not yet done, without paying for another model call.
- ``ProcessJobs`` giving up: 1. mark failed; 2. bury the job; 3. refund (with
  ``auto_refund``) and note the refund. Crash after 1: the next claim finds the submission failed
  and completes the job. Crash before the refund is noted: the submission stays failed, visible
  to an operator; the provider's refund is idempotent on the payment, so refunding again never
  pays twice.
- ``ProcessJobs`` (either end) and ``HandlePaymentEvent`` (a refund in full) then queue the
  order's email job: one more queue write after the submission's. Crash before it: the report
  job's next claim finds the submission ready (failed, refunded) and queues it.
- ``SendOrderEmail`` (the email job) and ``ResendEmail``: 1. record the attempt as ``sending``
  on the submission; 2. hand the message to the sender; 3. record ``sent`` or ``failed``; then
  complete the job. Crash between 2 and 3: the job's next claim finds the attempt still
  ``sending``, closes it as interrupted and sends again with the same Message-ID: the one
  at-least-once window (application/emails.py).

On the embedded database, the HTTP server's order path (saving, payment events, status reads)
runs in one writer thread that commits the calls arriving together in one transaction, each in a
savepoint of its own (``adapters/sqlite/writer.py``): the steps above then commit together, which
only narrows the gaps they are ordered to survive.

A store that does not answer raises ``StoreUnavailable`` (declared on the ports); the use case
stops at that step and the caller retries (HTTP answers 503 with Retry-After, which also makes
Stripe redeliver a webhook; the worker backs off and claims again).
"""

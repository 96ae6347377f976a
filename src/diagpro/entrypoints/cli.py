"""``diagpro``: run the whole lifecycle from a terminal, and ask where a submission is.

User mistakes (bad intake, unknown id, unreadable file) print one line and exit 2; a report that
could not be made, or a store that did not answer, exits 1; nothing a user types produces a
traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from diagpro.application.orders import ALERT_AFTER
from diagpro.application.retention import ErasureRun
from diagpro.config import ConfigError
from diagpro.container import Container
from diagpro.domain.actions import ActionKind, describe
from diagpro.domain.email import EmailAttempt
from diagpro.domain.errors import (
    DomainError,
    EmailRejected,
    EmailUnavailable,
    IntakeInvalid,
    PaymentProviderError,
    StoreDamaged,
    StoreUnavailable,
)
from diagpro.domain.intake import CHOICE_LABELS, CHOICES, Intake
from diagpro.domain.jobs import JobKind, JobState
from diagpro.domain.payment import format_money
from diagpro.domain.submission import Status, Submission
from diagpro.entrypoints.cloud_setup_command import add_cloud_setup_command, run_cloud_setup
from diagpro.entrypoints.orders_command import add_orders_command
from diagpro.entrypoints.worker import run_worker, worker_chores

# CLI flag -> intake payload key (the original frontend's camelCase names).
_FLAGS: tuple[tuple[str, str, str], ...] = (
    ("--equipment-type", "equipmentType", "one of the 15 categories, e.g. automotive, hvac"),
    ("--make", "make", "manufacturer"),
    ("--model", "model", "model"),
    ("--year", "year", "four-digit year, or 'older'"),
    ("--mileage-hours", "mileageHours", "mileage, engine hours or age"),
    ("--serial-number", "serialNumber", "VIN, HIN, serial or IMEI"),
    ("--codes", "errorCodes", "error codes as shown, e.g. 'P0301 P0171'"),
    ("--symptoms", "symptoms", "comma-separated symptoms"),
    ("--when-started", "whenStarted", ""),  # the choices' help: _choice_help
    ("--frequency", "frequency", ""),
    ("--urgency", "urgencyLevel", ""),
    ("--location", "locationEnvironment", "where it is used"),
    ("--usage", "usagePattern", ""),
    ("--problem", "problemDescription", "the problem in your own words"),
    ("--previous-repairs", "previousRepairs", "repairs already done"),
    ("--modifications", "modifications", "modifications"),
    ("--troubleshooting", "troubleshootingSteps", "what you have already tried"),
    ("--shop-quote", "shopQuoteAmount", "what a shop quoted, in DIAGPRO_CURRENCY"),
    ("--shop-recommendation", "shopRecommendation", "what the shop recommended"),
    ("--name", "fullName", "your name"),
    ("--email", "email", "where the receipt would go"),
    ("--phone", "phone", "phone number"),
)


def _choice_help(key: str) -> str:
    """'one of: today (Today), week (In the last week), ...': the values the intake accepts, with
    the words the form shows for them (domain.intake's one copy)."""
    labels = CHOICE_LABELS[key]
    return "one of: " + ", ".join(f"{value} ({labels[value]})" for value in CHOICES[key])


class UserError(Exception):
    """A mistake the user can fix; printed as one line."""


def _say(text: str) -> None:
    print(text, flush=True)


def _payload(args: argparse.Namespace) -> dict[str, object]:
    payload: dict[str, object] = {}
    if args.from_file:
        path = Path(args.from_file)
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise UserError(f"cannot read {path}: {exc.strerror}") from exc
        except json.JSONDecodeError as exc:
            raise UserError(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}") from exc
        # Accept the API's body ({"payload": {...}}) as well as the bare payload.
        if isinstance(loaded, dict) and isinstance(loaded.get("payload"), dict):
            loaded = loaded["payload"]
        if not isinstance(loaded, dict):
            raise UserError(f"{path} must hold a JSON object of intake fields")
        payload.update(loaded)
    for flag, key, _ in _FLAGS:
        value = getattr(args, flag[2:].replace("-", "_"))
        if value is not None:
            payload[key] = value
    for item in args.detail or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UserError(f"--detail expects name=value, got {item!r}")
        payload[name.strip()] = value.strip()
    return payload


def _machine(intake: Intake) -> str:
    """'2015 Ford F-150 (Cars & SUVs)'; the category alone when nothing more is known (an
    erased order, or a customer who named only the kind of machine)."""
    label = intake.category.label
    name = intake.equipment_name
    return label if name == label else f"{name} ({label})"


def _diagnose(container: Container, args: argparse.Namespace) -> int:
    submission = container.save_submission()(_payload(args))
    sid = submission.id
    intake = submission.intake
    _say(f"submission  {sid} saved: {_machine(intake)}")

    session = container.open_checkout()(sid)
    price = format_money(session.amount_total, session.currency)
    _say(f"checkout    {session.id} opened for {price}")

    self_checkout = container.self_checkout()
    if self_checkout is None:
        raise UserError(
            "diagnose pays on the local checkout; this configuration uses a real gateway"
        )
    signed = self_checkout.pay(session.id)
    receipt = container.receive_payment_event()(signed.payload, signed.signature)
    _say(f"payment     {receipt.event_id} verified: {receipt.outcome}; job queued")

    def progress(submission_id: str, stage: str, detail: str) -> None:
        if submission_id == sid:  # older jobs this worker may finish on the way stay quiet
            _say(f"{stage:<11} {detail}".rstrip())

    process = container.process_jobs(progress=progress)
    submissions = container.submissions()
    jobs = container.jobs()

    def done() -> bool:
        # The report's end, then its email's first attempt (a retry is left to a worker).
        if submissions.get(sid).status not in (Status.READY, Status.FAILED, Status.REFUNDED):
            return False
        return not any(
            job.kind is JobKind.EMAIL and job.state is JobState.QUEUED and not job.last_error
            for job in jobs.jobs_for(sid)
        )

    run_worker(process, jobs, container.clock(), threading.Event(), done=done)
    return _report_outcome(container, sid, args.output)


def _report_outcome(container: Container, sid: str, output: str | None) -> int:
    view = container.describe()(sid)
    if view.submission.status != Status.READY:
        # The operator's detail: the customer is shown only a plain sentence.
        _say(f"failed      {view.submission.failure_reason or view.explanation}")
        _say(f"            retry with: diagpro requeue {sid}")
        return 1
    stored = _local_file(container, sid)
    if output:
        target = Path(output)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(container.reports().read(sid))
        _say(f"report      {target}")
    if stored is not None:
        _say(f"stored at   {stored}")
    _say(f"status      diagpro status {sid}")
    return 0


def _local_file(container: Container, sid: str) -> Path | None:
    """Where the report sits on this machine, when the report store is a local folder."""
    report_files = container.report_files()
    return report_files.file_path(sid) if report_files is not None else None


def _status(container: Container, args: argparse.Namespace) -> int:
    view = container.describe()(args.submission_id)
    sub = view.submission
    _say(f"{sub.id}: {sub.status.value}")
    _say(f"  {_machine(sub.intake)}")
    _say(f"  {view.explanation}")
    when = "%Y-%m-%d %H:%M:%S UTC"
    _say(f"  created {sub.created_at:{when}}, updated {sub.updated_at:{when}}")
    if sub.erased_at is not None:
        _say(f"  personal data and report erased {sub.erased_at:{when}}")
    if sub.payment is not None:
        paid = format_money(sub.payment.amount_cents, sub.payment.currency)
        _say(f"  paid {paid} ({sub.payment.event_id})")
    for line in _money_back(sub):
        _say(f"  {line}")
    if sub.analysis is not None:
        _say(f"  analysis by {sub.analysis.written_by}")
        if sub.analysis.corrections:
            _say(f"  model answer repaired: {'; '.join(sub.analysis.corrections)}")
    if sub.analysis_fallback:
        done = {"offline": "the offline analyzer wrote the report", "refund": "refunded"}
        _say(f"  model failed for good, {done[sub.analysis_fallback.value]}: {sub.model_failure}")
    if view.attempts:
        _say(f"  attempts: {view.attempts}")
    # What the customer is not shown: the operator's detail of what went wrong.
    if sub.failure_reason:
        _say(f"  failure: {sub.failure_reason}")
    elif view.last_error and sub.status in (Status.PAID, Status.PROCESSING):
        _say(f"  last error: {view.last_error}")
    if view.links is not None:
        local = _local_file(container, sub.id)
        if local is not None:
            _say(f"  report: {local}")
        minutes = view.links.expires_in_seconds // 60
        _say(f"  download (valid {minutes} min): {view.links.download_url}")
        _say(f"  view: {view.links.view_url}")
    for attempt in sub.emails:
        _say(f"  {_attempt_line(attempt)}")
    for action in sub.actions:
        _say(f"  operator: {describe(action)}")
    return 0


def _attempt_line(attempt: EmailAttempt) -> str:
    """One email attempt, for the operator: event, outcome, when, where it went, and why not."""
    when = attempt.finished_at or attempt.started_at
    again = " (resent)" if attempt.resend else ""
    outcome = attempt.provider_id if attempt.state.value == "sent" else attempt.error
    detail = f": {outcome}" if outcome else ""
    to = attempt.to or "(address erased)"
    return (
        f"email #{attempt.number} {attempt.event.value}{again}: {attempt.state.value} "
        f"{when:%Y-%m-%d %H:%M:%S} UTC to {to}{detail}"
    )


def _resend_email(container: Container, args: argparse.Namespace) -> int:
    try:
        attempt = container.resend_email()(args.submission_id)
    except (EmailUnavailable, EmailRejected) as exc:
        _say(f"{args.submission_id}: the email was not sent: {exc.message}")
        return 1
    _say(f"{args.submission_id}: {_attempt_line(attempt)}")
    return 0


def _money_back(sub: Submission) -> list[str]:
    """Refunds and disputes, for the operator: money that left after the payment."""
    lines = []
    if sub.refunded_cents:
        paid = sub.payment.amount_cents if sub.payment else sub.price_cents
        extent = (
            "in full" if sub.status == Status.REFUNDED else "partly; the report stays available"
        )
        ids = f" ({', '.join(sub.refund_ids)})" if sub.refund_ids else ""
        refunded = format_money(sub.refunded_cents, sub.currency)
        lines.append(f"refunded {refunded} of {format_money(paid, sub.currency)}, {extent}{ids}")
    for dispute in sub.disputes:
        amount = format_money(dispute.amount_cents, dispute.currency or sub.currency)
        state = "closed" if dispute.closed else "open"
        lines.append(
            f"dispute {dispute.id}: {dispute.status} ({state}), {amount}, reason "
            f"{dispute.reason or 'not given'}, charge {dispute.charge_id or '?'}, "
            f"reported {dispute.reported_at:%Y-%m-%d %H:%M:%S} UTC"
        )
    return lines


def _purge(container: Container, args: argparse.Namespace) -> int:
    days = container.settings().retention_days
    run = container.purge_expired().until_done(dry_run=args.dry_run)
    if args.json:
        _say(json.dumps({"retentionDays": days, "dryRun": args.dry_run, **run.summary()}))
        return 0 if not run.failed else 1
    rule = f"personal data kept {days} day(s) after an order's last change"
    if args.dry_run:
        _say(f"purge (dry run): {len(run.due)} submission(s) would be erased ({rule})")
        _ids("would erase", run.due)
        if run.more:
            _say("  (the first batch only: more are due)")
        return 0
    _say(f"purge: {len(run.erased)} submission(s) erased ({rule})")
    _erasure_lines(run)
    return 0 if not run.failed else 1


def _forget(container: Container, args: argparse.Namespace) -> int:
    run = container.forget_customer()(args.who)
    if args.json:
        _say(json.dumps(run.summary()))
    else:
        _say(f"forget: {len(run.erased)} submission(s) erased")
        _erasure_lines(run)
        _ids("erased before", run.already_erased)
        _ids("held (paid, report not finished: forget again once it is)", run.held)
    return 0 if run.complete else 1


def _erasure_lines(run: ErasureRun) -> None:
    """Ids and counts only: what was erased is never printed."""
    _ids("erased", run.erased)
    if run.removed:
        _say("  removed: " + ", ".join(f"{n} {name}(s)" for name, n in run.removed.items()))
    _ids("changed meanwhile, kept for now", run.changed)
    for sid, why in sorted(run.failed.items()):
        _say(f"  failed {sid}: {why} (run again to finish it)")


def _ids(label: str, ids: list[str]) -> None:
    if ids:
        _say(f"  {label}: {', '.join(ids)}")


def _operator() -> str:
    """Who acts from this terminal, recorded on the order: the login name, marked as the CLI."""
    user = os.environ.get("USER", "").strip()
    return f"{user} (cli)" if user else "cli"


def _requeue(container: Container, args: argparse.Namespace) -> int:
    done = container.requeue_order()(args.submission_id, by=_operator())
    sub = done.submission
    if done.action.what is ActionKind.RAN_NOW:
        _say(f"{sub.id}: {sub.status.value}; run now: {done.action.detail}")
        return 0
    # A kept analysis is rendered again as it is: say so, as it is why no model call is billed.
    reuse = "; the report is made from its kept analysis" if sub.analysis is not None else ""
    _say(f"{sub.id}: {sub.status.value}; queued again{reuse}")
    return 0


def _refund(container: Container, args: argparse.Namespace) -> int:
    if not args.yes:
        raise UserError(
            f"refunding {args.submission_id} pays the customer back in full and cannot be "
            "undone: run it again with --yes to confirm"
        )
    try:
        done = container.refund_order()(args.submission_id, by=_operator())
    except PaymentProviderError as exc:
        print(
            f"error: the refund did not go through, the order is unchanged: {exc.message}",
            file=sys.stderr,
        )
        return 1
    _say(f"{done.submission.id}: {done.submission.status.value}; {done.action.detail}")
    return 0


def _worker(container: Container, args: argparse.Namespace) -> int:
    work = container.settings().work
    if work.push:
        raise UserError(
            "DIAGPRO_WORK_MODE=push: jobs are worked inside POST /tasks/jobs requests, which "
            "the Pub/Sub push subscription delivers; a worker would race them for nothing. "
            "Use DIAGPRO_WORK_MODE=pull for worker processes"
        )
    _refuse_unusable_store(container)
    from diagpro.entrypoints.http.observability import configure_json_logging

    # The same JSON lines as `diagpro serve`, at INFO: a worker pool's log lines feed the same
    # log-based metrics and alerts (deploy/monitoring), the overdue orders' above all.
    configure_json_logging(logging.DEBUG if args.verbose else logging.INFO)
    _serve_metrics_port(container)
    process = container.process_jobs(
        progress=lambda sid, stage, detail: _say(f"{sid} {stage} {detail}".rstrip())
    )
    stop = threading.Event()
    try:
        worked = run_worker(
            process,
            container.jobs(),
            container.clock(),
            stop,
            until_idle=args.until_idle,
            chores=worker_chores(container),
        )
    except KeyboardInterrupt:
        stop.set()
        return 130
    _say(f"worker stopped after {worked} job(s)")
    return 0


def _serve_metrics_port(container: Container) -> None:
    """DIAGPRO_METRICS_PORT: this process's counters on a port of their own (a thread)."""
    settings = container.settings()
    if not settings.metrics_port.enabled:
        return
    from diagpro.entrypoints.metrics_port import MetricsPortError, start_metrics_port

    try:
        start_metrics_port(
            settings.metrics_port, container.scraped_registry(), settings.operator_keys
        )
    except MetricsPortError as exc:
        raise StartRefused(f"diagpro cannot start: {exc}") from exc


class StartRefused(Exception):
    """What the process needs cannot be used (a store that takes no write, a metrics port that
    cannot be opened): it must not start (exit 1)."""


def _refuse_unusable_store(container: Container) -> None:
    """Start only on a store that takes a write: a damaged database file, a full or read-only
    disk would otherwise be met by the first paid job (or, worse, after "serving" is printed)."""
    try:
        problem = container.store_check().refusal()
    except StoreUnavailable as exc:  # the database would not even open
        problem = f"database: {exc.message}"
    if problem is not None:
        raise StartRefused(f"diagpro cannot start: {problem}")


def _sweep(container: Container, args: argparse.Namespace) -> int:
    if container.job_announcer() is None:
        raise UserError(
            "diagpro sweep announces due jobs on Pub/Sub: set PUBSUB_TOPIC, PUBSUB_SUBSCRIPTION "
            "and GCP_PROJECT (workers polling the store sweep it themselves)"
        )
    from diagpro.entrypoints.http.observability import configure_json_logging

    # JSON lines, as the service writes: a Cloud Run job's overdue orders feed the same alert.
    configure_json_logging(logging.DEBUG if args.verbose else logging.INFO)
    result = container.sweep_due_jobs()()
    if args.json:
        counts = {
            "due": result.due,
            "announced": result.announced,
            "failed": result.failed,
            "overdue": result.overdue,
        }
        _say(json.dumps(counts))
    else:
        _say(
            f"sweep: {result.due} due job(s), {result.announced} announced again on Pub/Sub, "
            f"{result.failed} failed; {result.overdue} paid order(s) without a report after "
            f"{int(ALERT_AFTER.total_seconds() // 60)} min"
        )
    return 0 if result.complete else 1


def _serve(container: Container, args: argparse.Namespace) -> int:
    # Imported here: the HTTP stack is not needed by diagnose/status and costs start-up time.
    import uvicorn
    from dependency_injector import providers

    from diagpro.config import load_settings, with_local_secrets
    from diagpro.entrypoints.http.app import create_app
    from diagpro.entrypoints.http.memory import settle_memory
    from diagpro.entrypoints.http.observability import configure_json_logging

    host, port = _listen_address(container.settings().port, args.host, args.port)
    env = dict(os.environ)
    # Links and the local checkout's webhook delivery must point at where we really listen.
    # Deployed (any cloud setting), DIAGPRO_PUBLIC_BASE_URL is required and already given.
    env.setdefault("DIAGPRO_PUBLIC_BASE_URL", f"http://{_linkable(host)}:{port}")
    settings = with_local_secrets(load_settings(env))
    container.settings.override(providers.Object(settings))
    _refuse_unusable_store(container)
    app = create_app(container)
    _say(f"diagpro is serving on http://{host}:{port}")
    _say(f"  public base URL: {settings.public_base_url}")
    # A key is never printed: this output is the service's log (Cloud Run keeps stdout).
    if settings.api_key_source == "DIAGPRO_API_KEYS":
        _say(f"API keys: {len(settings.api_keys)} from DIAGPRO_API_KEYS (x-api-key header)")
    else:
        kept = settings.api_key_source
        _say(f"API key (x-api-key header): kept in {kept}")
        _say(f"  read it with: jq -r .api_key {kept}   (set DIAGPRO_API_KEYS to choose your own)")
    _say(f"data folder: {settings.data_dir}   intake form: {settings.public_base_url}/")
    mail = settings.email
    if mail.sender == "smtp":
        _say(f"emails: sent through {mail.smtp_host}:{mail.smtp_port} from {mail.sender_address}")
    else:
        _say(f"emails: written to {settings.data_dir / 'outbox'} as .eml files (none is sent)")
    if settings.work.push:
        _say("work mode push: no worker in this process; jobs arrive on POST /tasks/jobs")
    elif not settings.work.worker_in_server:
        _say("work mode pull: no worker in this process; run `diagpro worker` for the jobs")
    configure_json_logging(logging.DEBUG if args.verbose else logging.INFO)
    _serve_metrics_port(container)
    # proxy_headers=False: uvicorn would otherwise take the client address (and scheme) from
    # X-Forwarded-For for any peer in forwarded_allow_ips (127.0.0.1 by default), so a client
    # could choose the address it is rate limited as. Only DIAGPRO_TRUSTED_PROXIES decides who
    # the client is (entrypoints/http/client_address.py); uvicorn's settings:
    # https://www.uvicorn.org/settings/#http
    settle_memory()  # the app is built: keep the collector off it (memory.py)
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False, proxy_headers=False)
    return 0


DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8000


def _listen_address(env_port: int, host: str | None, port: int | None) -> tuple[str, int]:
    """--port, else $PORT, else 8000; --host, else every interface when $PORT is set (a
    container platform such as Cloud Run sends traffic to the container's own address:
    https://cloud.google.com/run/docs/container-contract#port), else loopback only."""
    chosen_port = port or env_port or DEFAULT_PORT
    chosen_host = host or ("0.0.0.0" if env_port else DEFAULT_HOST)  # noqa: S104 - see above
    return chosen_host, chosen_port


def _linkable(host: str) -> str:
    """An address a browser on this machine can open: 0.0.0.0 is where we listen, not a host."""
    return DEFAULT_HOST if host in ("0.0.0.0", "::") else host  # noqa: S104


def _gateway_spec(container: Container, args: argparse.Namespace) -> int:
    import yaml

    from diagpro.entrypoints.http.app import create_app
    from diagpro.entrypoints.http.gateway_spec import GatewaySpecError, gateway_spec

    try:
        spec = gateway_spec(create_app(container, start_worker=False), args.backend, cors=args.cors)
    except GatewaySpecError as exc:
        raise UserError(str(exc)) from exc
    text = yaml.safe_dump(spec, sort_keys=False, allow_unicode=True)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        _say(f"gateway config for {len(spec['paths'])} paths written to {args.output}")
    else:
        sys.stdout.write(text)
    return 0


def _settings(readme: str | None) -> int:
    # Runs before any settings load: the table documents them, it needs none of them.
    from diagpro.config.table import settings_table, with_settings_table

    if readme is None:
        sys.stdout.write(settings_table())
        return 0
    path = Path(readme)
    try:
        path.write_text(with_settings_table(path.read_text(encoding="utf-8")), encoding="utf-8")
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    _say(f"settings table in {path} rewritten")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="diagpro", description="Pay-per-report equipment diagnostics, on embedded defaults."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens inside")
    commands = parser.add_subparsers(dest="command", required=True)

    diagnose = commands.add_parser(
        "diagnose",
        help="describe a problem and get the PDF report (runs the whole paid lifecycle locally)",
    )
    diagnose.add_argument("--from", dest="from_file", metavar="FILE", help="intake JSON file")
    for flag, key, text in _FLAGS:
        diagnose.add_argument(flag, help=(text or _choice_help(key)).replace("%", "%%"))
    diagnose.add_argument(
        "--detail",
        action="append",
        metavar="NAME=VALUE",
        help="a category detail, e.g. fuelType=gasoline",
    )
    diagnose.add_argument("--output", "-o", metavar="PDF", help="also write the report here")
    diagnose.set_defaults(run=_diagnose)

    status = commands.add_parser("status", help="where a submission is, and why")
    status.add_argument("submission_id")
    status.set_defaults(run=_status)

    add_orders_command(commands)

    requeue = commands.add_parser(
        "requeue",
        help="run a stuck submission's waiting report job now, queue a failed one again, or "
        "make a lost report file again; recorded on the order",
    )
    requeue.add_argument("submission_id")
    requeue.set_defaults(run=_requeue)

    refund = commands.add_parser(
        "refund",
        help="refund a paid submission without its report (or a failed one) in full, through "
        "the payment provider; recorded on the order",
    )
    refund.add_argument("submission_id")
    refund.add_argument("--yes", action="store_true", help="confirm: the refund cannot be undone")
    refund.set_defaults(run=_refund)

    resend = commands.add_parser(
        "resend-email",
        help="send the customer the email their order's state owes (ready, failed, refunded) "
        "again, now",
    )
    resend.add_argument("submission_id")
    resend.set_defaults(run=_resend_email)

    purge = commands.add_parser(
        "purge",
        help="erase the personal data and reports of orders past DIAGPRO_RETENTION_DAYS; "
        "prints ids and counts only; exit 1 if one could not be erased",
    )
    purge.add_argument("--dry-run", action="store_true", help="only list what would be erased")
    purge.add_argument("--json", action="store_true", help="print the counts and ids as JSON")
    purge.set_defaults(run=_purge)

    forget = commands.add_parser(
        "forget",
        help="erase one customer's personal data and reports now (a privacy request): one "
        "submission, or every submission under an email; exit 1 if one is held or failed",
    )
    forget.add_argument("who", help="a submission id, or the email address the customer gave")
    forget.add_argument("--json", action="store_true", help="print the counts and ids as JSON")
    forget.set_defaults(run=_forget)

    serve = commands.add_parser(
        "serve", help="run the HTTP service (API, webhook, pages) with its worker"
    )
    serve.add_argument(
        "--host", help="address to listen on (default 127.0.0.1; 0.0.0.0 when $PORT is set)"
    )
    serve.add_argument("--port", type=int, help="port to listen on (default $PORT, else 8000)")
    serve.set_defaults(run=_serve)

    worker = commands.add_parser("worker", help="work queued jobs until interrupted")
    worker.add_argument("--until-idle", action="store_true", help="stop when no job is waiting")
    worker.set_defaults(run=_worker)

    sweep = commands.add_parser(
        "sweep",
        help="announce every due job again on Pub/Sub (lost messages, expired leases, retries "
        "whose backoff passed); exit 1 if a publish failed",
    )
    sweep.add_argument("--json", action="store_true", help="print the counts as JSON")
    sweep.set_defaults(run=_sweep)

    gateway = commands.add_parser(
        "gateway-spec", help="write the Google API Gateway config (Swagger 2.0) for every route"
    )
    gateway.add_argument("--backend", required=True, help="the Cloud Run URL to forward to")
    gateway.add_argument("--output", "-o", metavar="FILE", help="write here, not to stdout")
    gateway.add_argument(
        "--cors",
        action="store_true",
        help="also forward browsers' CORS preflights (OPTIONS, no key) to the backend",
    )
    gateway.set_defaults(run=_gateway_spec)

    doctor = commands.add_parser(
        "doctor",
        help="check this deployment's configuration and services; exit 1 on any blocker",
    )
    doctor.add_argument("--json", action="store_true", help="print the checks as JSON")
    doctor.add_argument(
        "--gateway-url",
        metavar="URL",
        help="also check the deployed API Gateway at URL: refuses without a key, accepts "
        "one from DIAGPRO_API_KEYS, lets Stripe reach the webhook",
    )
    doctor.set_defaults(run=None)  # runs before the settings load: a ConfigError is a finding

    add_cloud_setup_command(commands)

    settings = commands.add_parser(
        "settings", help="print every setting as the README's markdown table (no settings needed)"
    )
    settings.add_argument(
        "--readme", metavar="FILE", help="rewrite the table between the settings markers of FILE"
    )
    settings.set_defaults(run=None)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if args.command == "doctor":
        from diagpro.entrypoints.doctor import main as doctor

        return doctor(as_json=args.json, gateway_url=args.gateway_url)
    if args.command == "settings":
        return _settings(args.readme)
    if args.command == "cloud-setup":
        return run_cloud_setup(args)
    try:
        container = Container()
        container.settings()
        return int(args.run(container, args))
    except IntakeInvalid as exc:
        print(f"error: the description was not accepted: {exc.message}", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    except StartRefused as exc:  # the line already says what to do
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except StoreDamaged as exc:  # trying again cannot help: the message says what does
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except StoreUnavailable as exc:  # not the user's mistake: an outage, worth trying again
        print(f"error: {exc}; try again in a moment", file=sys.stderr)
        return 1
    except (DomainError, ConfigError, UserError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

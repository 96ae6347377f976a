"""The composition root: the only place that knows which adapter serves which port.

Embedded defaults (SQLite, a local report folder, the local checkout, the offline analyzer) are
wired here, with the capabilities only they have (``self_checkout``, ``report_files``: None when
a cloud adapter replaces them). Tests swap any part with ``container.<port>.override(...)`` or
take every in-memory fake at once with ``use_memory_adapters``. Cloud adapters join here when
their settings are set.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from dependency_injector import containers, providers

from diagpro.adapters.local_checkout import CheckoutEmails, LocalCheckout, MemoryCheckoutBook
from diagpro.adapters.local_files import LocalReportFolder
from diagpro.adapters.memory.emails import MemoryEmailSender
from diagpro.adapters.memory.events import MemoryProcessedEvents
from diagpro.adapters.memory.jobs import MemoryJobQueue
from diagpro.adapters.memory.reports import MemoryReportStore
from diagpro.adapters.memory.submissions import MemorySubmissionStore
from diagpro.adapters.metrics.metered import MeteredAnalyzer, MeteredRenderer
from diagpro.adapters.offline_analyzer import OfflineAnalyzer
from diagpro.adapters.pdf.isolation import IsolatedRenderer
from diagpro.adapters.sqlite.checkouts import SqliteCheckoutBook
from diagpro.adapters.sqlite.db import Database
from diagpro.adapters.sqlite.events import SqliteProcessedEvents
from diagpro.adapters.sqlite.health import SqliteStoreProbe
from diagpro.adapters.sqlite.jobs import SqliteJobQueue
from diagpro.adapters.sqlite.scrub import JournalScrub
from diagpro.adapters.sqlite.submissions import SqliteSubmissionStore
from diagpro.adapters.sqlite.writer import SqliteWriter
from diagpro.adapters.system import SecretIds, SystemClock
from diagpro.adapters.worker_threads import in_worker_thread
from diagpro.application.checkout import OpenCheckoutSession
from diagpro.application.emails import EMAIL_MAX_DELAY, ResendEmail, SendOrderEmail
from diagpro.application.emails import EmailSettings as EmailJobSettings
from diagpro.application.health import Readiness, ServiceHealth, StoreCheck
from diagpro.application.intake import SaveSubmission
from diagpro.application.operator_actions import RefundOrder, RequeueOrder
from diagpro.application.operator_overview import OperatorOverview
from diagpro.application.orders import ListOrders, StuckOrders
from diagpro.application.overdue import CheckOverdueOrders
from diagpro.application.payments import (
    FollowCheckout,
    Fulfil,
    HandlePaymentEvent,
    ReceivePaymentEvent,
)
from diagpro.application.processing import ProcessJobs, WorkerSettings
from diagpro.application.retention import ForgetCustomer, PurgeExpiredData, ReportEraser
from diagpro.application.status import (
    DescribeSubmission,
    EnsureReport,
    GetDownloadLinks,
    RemakeLostReport,
    RequeueSubmission,
)
from diagpro.application.tasks import SweepDueJobs, WorkPushedJob
from diagpro.config import (
    FirestoreSettings,
    PubSubSettings,
    Settings,
    StorageSettings,
    StripeSettings,
    VertexSettings,
    load_settings,
    with_local_secrets,
)
from diagpro.config.settings import EmailSettings, WorkModeSettings
from diagpro.domain.jobs import RetryPolicy
from diagpro.domain.payment import Price


def _stripe_gateway(stripe: StripeSettings) -> Any:
    # Imported when chosen: the offline defaults never load the Stripe client's HTTP stack.
    from diagpro.adapters.stripe_gateway import StripeGateway

    return StripeGateway(
        stripe.secret_key,
        stripe.webhook_secret,
        api_base=stripe.api_base or None,
        api_version=stripe.api_version,
    )


def _stripe_refunds(gateway: Any) -> Any:
    from diagpro.adapters.stripe_gateway import StripeRefunds

    return StripeRefunds(gateway)


def _vertex_analyzer(vertex: VertexSettings) -> Any:
    from diagpro.adapters.code_book import decode_codes
    from diagpro.adapters.gemini.vertex import VertexAnalyzer, vertex_client
    from diagpro.adapters.offline_analyzer.owner_facts import stated_findings

    client = vertex_client(vertex.project, vertex.location, base_url=vertex.base_url or None)
    # The model gets the code book's meanings for the maker's codes, so it decodes them
    # instead of answering "see the manual", and diagpro's reading of the owner's findings, so
    # it starts from the facts the owner already established.
    return VertexAnalyzer(client, vertex.model, decode=decode_codes, read_findings=stated_findings)


def _gcs_reports(storage_settings: StorageSettings) -> Any:
    from google.cloud import storage
    from google.oauth2 import service_account

    from diagpro.adapters.gcs import GcsReportStore

    key = storage_settings.signing_key_file
    return GcsReportStore(
        storage.Client(project=storage_settings.project),
        storage_settings.bucket,
        signing_credentials=(
            service_account.Credentials.from_service_account_file(key)  # type: ignore[no-untyped-call]
            if key
            else None
        ),
        service_account_email=storage_settings.signer_email or None,
    )


def _report_link_signing(storage_settings: StorageSettings) -> Any:
    """How Cloud Storage links are signed: the key file when given, else IAM signBlob."""
    from google.oauth2 import service_account

    from diagpro.adapters.gcs import IamSignBlobSigning, KeyFileSigning

    if storage_settings.signing_key_file:
        return KeyFileSigning(
            service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
                storage_settings.signing_key_file
            )
        )
    return IamSignBlobSigning(storage_settings.signer_email)


def _firestore_adapter(name: str, *args: Any) -> Any:
    # Imported when chosen: the embedded defaults never load the Firestore client (0.2 s).
    from diagpro.adapters import firestore

    return getattr(firestore, name)(*args)


def _store_check(database: Any, reports: Any, clock: Any) -> StoreCheck:
    """Probe the database, and the report folder when reports are kept on this machine."""
    probes = (
        {"database": database} if reports is None else {"database": database, "reports": reports}
    )
    return StoreCheck(probes, clock)


def _ready_slo(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.ready_slo_seconds)


def _firestore_client(firestore_settings: FirestoreSettings) -> Any:
    from google.cloud import firestore

    return firestore.Client(
        project=firestore_settings.project, database=firestore_settings.database
    )


def _job_queue(inner: Any, pubsub_settings: PubSubSettings) -> Any:
    """The store's job queue, with Pub/Sub dispatch in front of it when configured."""
    if not pubsub_settings.enabled:
        return inner
    # Imported when chosen: the embedded defaults never load the Pub/Sub client.
    from diagpro.adapters.pubsub import pubsub_dispatch_queue

    return pubsub_dispatch_queue(
        inner, pubsub_settings.project, pubsub_settings.topic, pubsub_settings.subscription
    )


def _firestore_queries() -> Any:
    """The Firestore queries that need a composite index (what the doctor runs and names)."""
    from diagpro.adapters.firestore.indexes import QUERIES

    return QUERIES


def _job_announcer(jobs: Any, pubsub_settings: PubSubSettings) -> Any:
    """Pub/Sub announces due jobs (the sweep) when configured; None otherwise."""
    return jobs if pubsub_settings.enabled else None


def _task_callers(work: WorkModeSettings) -> Any:
    # Imported when chosen: only push mode loads google-auth's token verification.
    from diagpro.adapters.push_auth import OidcTaskCallers

    return OidcTaskCallers(
        work.push_audience, work.push_service_account, allow_tokenless=work.tokenless_pushes
    )


def _metrics_registry() -> Any:
    # Imported when first used (70 ms): commands that never count, like `diagpro settings`,
    # never load prometheus_client.
    from prometheus_client import CollectorRegistry

    return CollectorRegistry()


def _waiting_by_age(stuck_orders: Any) -> Any:
    """What the gauge calls at each scrape: a fresh StuckOrders (the container's current stores)
    counting every paid order without its report by age."""
    return lambda: stuck_orders().waiting_by_age()


def _meter(registry: Any, stuck_order_counts: Any, input_usd: float, output_usd: float) -> Any:
    from diagpro.adapters.metrics.prometheus import prometheus_meter

    return prometheus_meter(registry, stuck_order_counts, input_usd, output_usd)


def _price(settings: Settings) -> Price:
    return Price(settings.price_cents, settings.currency)


def _worker_settings(settings: Settings, ids: SecretIds) -> WorkerSettings:
    return WorkerSettings(
        worker_id=f"worker-{ids.token()}",
        lease_seconds=settings.job_lease_seconds,
        policy=RetryPolicy(
            max_attempts=settings.job_max_attempts,
            base_delay=timedelta(seconds=settings.retry_base_seconds),
            budget=timedelta(seconds=settings.job_budget_seconds),
        ),
        auto_refund=settings.auto_refund,
        model_fallback=settings.model_fallback,
        retention_days=settings.retention_days,
    )


def _email_sender(email: EmailSettings, data_dir: Any, clock: Any) -> Any:
    """DIAGPRO_EMAIL_SENDER: the outbox folder in the data folder, or an SMTP relay."""
    from diagpro.adapters.email import OutboxFolder, SmtpSender

    if email.sender == "smtp":
        return SmtpSender(
            email.smtp_host,
            email.smtp_port,
            email.sender_address,
            clock,
            username=email.smtp_user,
            password=email.smtp_password,
            security=email.smtp_security,
        )
    return OutboxFolder(data_dir / "outbox", email.sender_address, clock)


def _email_letters(public_base_url: str, retention_days: int) -> Any:
    from diagpro.adapters.email import CatalogueLetters

    return CatalogueLetters(public_base_url, retention_days)


def _email_job_settings(settings: Settings) -> EmailJobSettings:
    # Longer than a report's: a relay down for an hour must not lose the customer's email.
    return EmailJobSettings(
        sender_domain=settings.email.domain,
        policy=RetryPolicy(
            max_attempts=settings.email.max_attempts,
            base_delay=timedelta(seconds=settings.retry_base_seconds),
            max_delay=EMAIL_MAX_DELAY,
            budget=timedelta(seconds=settings.email.budget_seconds),
        ),
    )


def _sent_emails(sender: Any) -> Any:
    """The eraser of the emails the sender keeps a copy of (the outbox folder); None for SMTP,
    which keeps none here (the provider's own log is the provider's, README "Privacy")."""
    from diagpro.adapters.email import OutboxEmails, OutboxFolder

    return OutboxEmails(sender) if isinstance(sender, OutboxFolder) else None


def _erasers(*erasers: Any) -> list[Any]:
    """The erasers that apply to this configuration (None: that store is not in use)."""
    return [eraser for eraser in erasers if eraser is not None]


def _stand_in_analyzer(settings: Settings, offline: Any) -> Any:
    """The offline analyzer, standing in for a model that failed for good (the ``offline``
    model fallback); None when the offline analyzer is the analyzer already."""
    if settings.cloud.analysis == "offline" or settings.model_fallback != "offline":
        return None
    return offline


class Container(containers.DeclarativeContainer):
    # Secrets the environment does not give are made once in the data folder, here: reading the
    # configuration itself never writes.
    settings = providers.Singleton(with_local_secrets, providers.Callable(load_settings))

    clock = providers.Singleton(SystemClock)
    ids = providers.Singleton(SecretIds)
    price = providers.Callable(_price, settings)
    database = providers.Singleton(Database, path=settings.provided.database_path)

    # -- ports -> embedded defaults ------------------------------------------------------------
    firestore = providers.Singleton(_firestore_client, settings.provided.cloud.firestore)
    store_backend = settings.provided.cloud.store
    submissions = providers.Selector(
        store_backend,
        sqlite=providers.Singleton(SqliteSubmissionStore, database),
        firestore=providers.Singleton(_firestore_adapter, "FirestoreSubmissionStore", firestore),
    )
    processed_events = providers.Selector(
        store_backend,
        sqlite=providers.Singleton(SqliteProcessedEvents, database),
        firestore=providers.Singleton(_firestore_adapter, "FirestoreProcessedEvents", firestore),
    )
    stored_jobs = providers.Selector(
        store_backend,
        sqlite=providers.Singleton(SqliteJobQueue, database, ids),
        firestore=providers.Singleton(_firestore_adapter, "FirestoreJobQueue", firestore, ids),
    )
    # With PUBSUB_TOPIC/PUBSUB_SUBSCRIPTION, new jobs are also announced through Pub/Sub; the
    # job state stays in the store above.
    jobs = providers.Singleton(_job_queue, stored_jobs, settings.provided.cloud.pubsub)
    local_reports = providers.Singleton(
        LocalReportFolder,
        # The folder holds reports/{id}.pdf, the object path every report store uses.
        root=settings.provided.data_dir,
        base_url=settings.provided.public_base_url,
        secret=settings.provided.link_secret.encode.call(),
    )
    gcs_reports = providers.Singleton(_gcs_reports, settings.provided.cloud.storage)
    reports = providers.Selector(
        settings.provided.cloud.report_storage,
        local=local_reports,
        gcs=gcs_reports,
    )
    # What only the embedded local folder offers (/files/reports/...): None on Cloud Storage.
    report_files = providers.Selector(
        settings.provided.cloud.report_storage,
        local=local_reports,
        gcs=providers.Object(None),
    )
    # Can the stores still be written? One tiny probe write each, cached a few seconds.
    store_probe = providers.Selector(
        store_backend,
        sqlite=providers.Singleton(SqliteStoreProbe, database),
        firestore=providers.Singleton(_firestore_adapter, "FirestoreStoreProbe", firestore),
    )
    store_check = providers.Singleton(_store_check, store_probe, report_files, clock)
    # What this process found that an operator must fix (a misconfigured analyzer, a store that
    # cannot be written): /healthz reports it. One per container, so apps and tests in one
    # process never share it.
    health = providers.Singleton(ServiceHealth, store_check)
    report_link_signing = providers.Singleton(_report_link_signing, settings.provided.cloud.storage)
    checkout_book = providers.Singleton(SqliteCheckoutBook, database)
    local_checkout = providers.Singleton(
        LocalCheckout,
        book=checkout_book,
        secret=settings.provided.local_webhook_secret,
        base_url=settings.provided.public_base_url,
        clock=clock,
        ids=ids,
    )
    stripe_gateway = providers.Singleton(_stripe_gateway, settings.provided.cloud.stripe)
    gateway = providers.Selector(
        settings.provided.cloud.payments,
        local=local_checkout,
        stripe=stripe_gateway,
    )
    # What only the local checkout offers (its own Pay and Cancel buttons): None with Stripe.
    self_checkout = providers.Selector(
        settings.provided.cloud.payments,
        local=local_checkout,
        stripe=providers.Object(None),
    )
    # Automatic refunds after a permanent failure (DIAGPRO_AUTO_REFUND): through whichever
    # checkout took the money.
    refunds = providers.Selector(
        settings.provided.cloud.payments,
        local=local_checkout,
        stripe=providers.Singleton(_stripe_refunds, stripe_gateway),
    )
    vertex_analyzer = providers.Singleton(_vertex_analyzer, settings.provided.cloud.vertex)
    offline_analyzer = providers.Singleton(OfflineAnalyzer)
    # DIAGPRO_ANALYZER: an explicit choice once any cloud setting is given (config/cloud.py).
    analyzer = providers.Selector(
        settings.provided.cloud.analysis,
        offline=offline_analyzer,
        vertex=vertex_analyzer,
    )
    # DIAGPRO_MODEL_FALLBACK=offline: who writes the report when the model fails for good.
    stand_in_analyzer = providers.Callable(_stand_in_analyzer, settings, offline_analyzer)
    # WeasyPrint runs in a child process with a wall-clock and memory limit (started lazily, on
    # the first render); tests override this with a fast fake.
    renderer = providers.Singleton(
        IsolatedRenderer,
        timeout_seconds=settings.provided.render_timeout_seconds,
        memory_mb=settings.provided.render_memory_mb,
    )

    # The customer's emails (DIAGPRO_EMAIL_SENDER): .eml files in the data folder, or SMTP.
    email_sender = providers.Singleton(
        _email_sender, settings.provided.email, settings.provided.data_dir, clock
    )
    email_letters = providers.Singleton(
        _email_letters, settings.provided.public_base_url, settings.provided.retention_days
    )

    # The operator's view of orders, read from the stores (application/orders.py):
    # ``stuck_orders().stuck_by_age()`` counts paid orders stuck without their report by age
    # bucket, the same on every instance; /readyz is not ready while there is one.
    stuck_orders = providers.Factory(
        StuckOrders, submissions, clock, providers.Callable(_ready_slo, settings)
    )

    # -- metrics (/metrics) ----------------------------------------------------------------------
    # A registry per container, never prometheus_client's global one: apps and tests in one
    # process count apart.
    metrics_registry = providers.Singleton(_metrics_registry)
    # Paid orders without a report, by age bucket (dict[label, count]), asked of the store at each
    # scrape (application/orders.py), so every instance reports the same figure.
    stuck_order_counts = providers.Callable(_waiting_by_age, stuck_orders.provider)
    meter = providers.Singleton(
        _meter,
        metrics_registry,
        stuck_order_counts,
        settings.provided.model_input_usd_per_million_tokens,
        settings.provided.model_output_usd_per_million_tokens,
    )
    # What /metrics reads: the registry once the meter's metrics are in it (a scrape before any
    # order still lists them, at zero).
    scraped_registry = providers.Callable(lambda meter: meter.registry, meter)
    metered_analyzer = providers.Singleton(MeteredAnalyzer, analyzer, meter)
    metered_renderer = providers.Singleton(MeteredRenderer, renderer, meter)

    # -- use cases -----------------------------------------------------------------------------
    save_submission = providers.Factory(SaveSubmission, submissions, ids, clock, price, meter)
    open_checkout = providers.Factory(
        OpenCheckoutSession,
        submissions,
        gateway,
        clock,
        price,
        settings.provided.public_base_url,
    )
    fulfil = providers.Factory(Fulfil, submissions, jobs, clock, meter)
    handle_payment_event = providers.Factory(
        HandlePaymentEvent, processed_events, submissions, fulfil, clock, emails=jobs, meter=meter
    )
    receive_payment_event = providers.Factory(
        ReceivePaymentEvent, gateway, handle_payment_event, meter
    )
    follow_checkout = providers.Factory(FollowCheckout, gateway, submissions, fulfil, clock)
    worker_settings = providers.Singleton(_worker_settings, settings, ids)
    email_job_settings = providers.Singleton(_email_job_settings, settings)
    send_order_email = providers.Factory(
        SendOrderEmail,
        submissions,
        jobs,
        reports,
        email_letters,
        email_sender,
        clock,
        email_job_settings,
        meter,
    )
    resend_email = providers.Factory(
        ResendEmail,
        submissions,
        reports,
        email_letters,
        email_sender,
        clock,
        email_job_settings,
        meter,
    )
    process_jobs = providers.Factory(
        ProcessJobs,
        submissions,
        jobs,
        metered_analyzer,
        metered_renderer,
        reports,
        clock,
        worker_settings,
        refunds=refunds,
        health=health,
        fallback=stand_in_analyzer,
        emails=send_order_email,
        meter=meter,
    )
    # The operator's order list (`diagpro orders`), from stuck_orders.
    list_orders = providers.Factory(ListOrders, submissions, jobs, clock, stuck_orders)
    # Paid orders without a report after ten minutes, logged for the alert (application/overdue.py):
    # run by the sweep (push mode) and every worker (inline, pull) now and then.
    check_overdue_orders = providers.Factory(CheckOverdueOrders, list_orders)
    # DIAGPRO_WORK_MODE=push: one job per request on /tasks/jobs, and the sweep.
    job_announcer = providers.Singleton(_job_announcer, jobs, settings.provided.cloud.pubsub)
    task_callers = providers.Singleton(_task_callers, settings.provided.work)
    firestore_queries = providers.Callable(_firestore_queries)
    work_pushed_job = providers.Factory(WorkPushedJob, jobs, process_jobs, clock, worker_settings)
    sweep_due_jobs = providers.Factory(
        SweepDueJobs, jobs, job_announcer, clock, check_overdue=check_overdue_orders
    )
    remake_lost_report = providers.Factory(RemakeLostReport, submissions, jobs, reports, clock)
    describe = providers.Factory(
        DescribeSubmission,
        submissions,
        jobs,
        reports,
        clock,
        remake_lost_report,
        stores=store_check,
    )
    download_links = providers.Factory(
        GetDownloadLinks, submissions, reports, clock, remake_lost_report
    )
    # Readiness (/readyz), from stuck_orders.
    readiness = providers.Singleton(Readiness, health, stuck_orders.provider)
    # The operator page (GET /admin): the same store reads as `diagpro orders`, and a day's counts.
    operator_overview = providers.Factory(
        OperatorOverview, submissions, clock, list_orders, stuck_orders
    )
    requeue = providers.Factory(RequeueSubmission, submissions, jobs, clock, remake_lost_report)
    ensure_report = providers.Factory(EnsureReport, submissions, remake_lost_report, requeue)
    # An operator's actions on one order (the page and the CLI), recorded on the order.
    requeue_order = providers.Factory(
        RequeueOrder, submissions, jobs, clock, requeue, announcer=job_announcer
    )
    refund_order = providers.Factory(RefundOrder, submissions, jobs, refunds, clock, meter)
    # Personal data kept only DIAGPRO_RETENTION_DAYS (application/retention.py). Each eraser
    # removes what is kept outside the submission for it (the submission's own email attempts
    # lose their address in Submission.erase_personal_data).
    erasers = providers.Callable(
        _erasers,
        providers.Factory(ReportEraser, reports),
        # The local checkout's sessions keep the email; Stripe keeps its own (README, Privacy).
        providers.Selector(
            settings.provided.cloud.payments,
            local=providers.Factory(CheckoutEmails, checkout_book),
            stripe=providers.Object(None),
        ),
        providers.Callable(_sent_emails, email_sender),
    )
    # What the embedded database keeps of an erased row (its journal) is overwritten after each
    # erasure; Firestore keeps no copy of its own but its point-in-time recovery (README).
    scrub_erased_text = providers.Selector(
        store_backend,
        sqlite=providers.Factory(JournalScrub, database),
        firestore=providers.Object(None),
    )
    purge_expired = providers.Factory(
        PurgeExpiredData,
        submissions,
        erasers,
        clock,
        settings.provided.retention_days,
        scrub_erased_text,
    )
    forget_customer = providers.Factory(
        ForgetCustomer, submissions, erasers, clock, scrub_erased_text
    )
    # How the HTTP handlers of the order path (saving, payment events, status) run their use
    # case: the embedded database's writer thread (a batch per commit), else the thread pool.
    order_path = providers.Selector(
        store_backend,
        sqlite=providers.Singleton(SqliteWriter, database),
        firestore=providers.Object(in_worker_thread),
    )


def use_memory_adapters(container: Container) -> Container:
    """Every storage port on its in-memory fake: fast tests and throwaway demos."""
    settings = container.settings()
    container.submissions.override(providers.Singleton(MemorySubmissionStore))
    container.processed_events.override(providers.Singleton(MemoryProcessedEvents))
    container.jobs.override(providers.Singleton(MemoryJobQueue, container.ids))
    container.reports.override(
        providers.Singleton(
            MemoryReportStore, settings.public_base_url, settings.link_secret.encode()
        )
    )
    container.report_files.override(providers.Object(None))  # nothing on disk to serve
    container.checkout_book.override(providers.Singleton(MemoryCheckoutBook))
    container.store_check.override(providers.Singleton(StoreCheck, {}, container.clock))
    container.order_path.override(providers.Object(in_worker_thread))
    container.scrub_erased_text.override(providers.Object(None))  # memory keeps no journal
    container.email_sender.override(
        providers.Singleton(MemoryEmailSender, settings.email.sender_address, container.clock)
    )
    return container

"""Which cloud adapter replaces which embedded default, and why not.

Each cloud adapter is chosen when its settings are given. A half-configured one is a start-up
error naming every missing or malformed setting, so a bad deployment fails before a customer
pays (a wrong Stripe key or a missing permission is otherwise found by the customers).
Secrets are checked for shape here; ``diagpro doctor`` checks them against the services.
"""

from __future__ import annotations

from diagpro.config import declarations as d
from diagpro.config.settings import (
    CloudSettings,
    FirestoreSettings,
    PubSubSettings,
    StorageSettings,
    StripeSettings,
    VertexSettings,
)
from diagpro.config.values import Values


def cloud_settings(values: Values) -> CloudSettings:
    return CloudSettings(
        stripe=_stripe(values),
        vertex=_vertex(values),
        storage=_storage(values),
        firestore=_firestore(values),
        pubsub=_pubsub(values),
    )


def _stripe(values: Values) -> StripeSettings:
    key, secret = values[d.STRIPE_SECRET_KEY], values[d.STRIPE_WEBHOOK_SECRET]
    if not key and not secret:
        return StripeSettings("", "", values[d.STRIPE_API_BASE], values[d.STRIPE_API_VERSION])
    if not key:
        values.refuse("STRIPE_WEBHOOK_SECRET is set but STRIPE_SECRET_KEY is missing")
    elif key.startswith("pk_"):
        values.refuse(
            "STRIPE_SECRET_KEY holds a publishable key (pk_…): use the secret key (sk_…) "
            "or a restricted key (rk_…) from the Stripe dashboard"
        )
    elif not key.startswith(("sk_", "rk_")):
        values.refuse("STRIPE_SECRET_KEY must be a Stripe secret key (sk_… or rk_…)")
    if not secret:
        values.refuse(
            "STRIPE_SECRET_KEY is set but STRIPE_WEBHOOK_SECRET is missing: without it no "
            "payment event can be verified (Stripe dashboard > Webhooks > signing secret)"
        )
    elif not secret.startswith("whsec_"):
        values.refuse("STRIPE_WEBHOOK_SECRET must be the endpoint's signing secret (whsec_…)")
    return StripeSettings(key, secret, values[d.STRIPE_API_BASE], values[d.STRIPE_API_VERSION])


def _vertex(values: Values) -> VertexSettings:
    location, base_url = values[d.VAI_LOCATION], values[d.VERTEX_BASE_URL]
    if not values.given(d.VAI_MODEL, d.VAI_LOCATION, d.VERTEX_BASE_URL):
        return VertexSettings("", location, "", base_url)
    project = values[d.GCP_PROJECT]
    if not project:
        values.refuse("VAI_MODEL/VAI_LOCATION are set but GCP_PROJECT is missing")
    return VertexSettings(project, location, values[d.VAI_MODEL], base_url)


def _storage(values: Values) -> StorageSettings:
    bucket = values[d.REPORT_BUCKET]
    key_file, signer = values[d.REPORT_SIGNING_KEY_FILE], values[d.REPORT_SIGNER_EMAIL]
    if not bucket:
        if key_file or signer:
            values.refuse(
                "REPORT_SIGNING_KEY_FILE/REPORT_SIGNER_EMAIL are set but REPORT_BUCKET is missing"
            )
        return StorageSettings("", "", key_file, signer)
    project = values[d.GCP_PROJECT]
    if not project:
        values.refuse("REPORT_BUCKET is set but GCP_PROJECT is missing")
    if not (key_file or signer):
        values.refuse(
            "REPORT_BUCKET is set but download links cannot be signed: set REPORT_SIGNER_EMAIL "
            "(the service account, signing through IAM signBlob) or REPORT_SIGNING_KEY_FILE"
        )
    return StorageSettings(project, bucket, key_file, signer)


def _firestore(values: Values) -> FirestoreSettings:
    # Submissions, events and jobs move together: a store split across backends would lose
    # the compare-and-set between them.
    database, emulator = values[d.FIRESTORE_DATABASE], values[d.FIRESTORE_EMULATOR_HOST]
    if values[d.STORE] != "firestore":
        return FirestoreSettings("", database, emulator)
    project = values[d.GCP_PROJECT]
    if not project:
        values.refuse("DIAGPRO_STORE=firestore but GCP_PROJECT is missing")
    return FirestoreSettings(project, database, emulator)


def _pubsub(values: Values) -> PubSubSettings:
    topic, subscription = values[d.PUBSUB_TOPIC], values[d.PUBSUB_SUBSCRIPTION]
    if not values.given(d.PUBSUB_TOPIC, d.PUBSUB_SUBSCRIPTION):
        return PubSubSettings("", "", "")
    if not values.given(d.PUBSUB_TOPIC):
        values.refuse("PUBSUB_SUBSCRIPTION is set but PUBSUB_TOPIC is missing")
    if not values.given(d.PUBSUB_SUBSCRIPTION):
        values.refuse("PUBSUB_TOPIC is set but PUBSUB_SUBSCRIPTION is missing")
    project = values[d.GCP_PROJECT]
    if not project:
        values.refuse("PUBSUB_TOPIC/PUBSUB_SUBSCRIPTION are set but GCP_PROJECT is missing")
    return PubSubSettings(project, topic, subscription)

"""Which cloud adapter replaces which embedded default, and why not.

Each cloud adapter is chosen when its settings are given. A half-configured one is a start-up
error naming every missing or malformed setting, so a bad deployment fails before a customer
pays (a wrong Stripe key or a missing permission is otherwise found by the customers).
Secrets are checked for shape here; ``diagpro doctor`` checks them against the services.

Once any cloud setting is given the service counts as deployed: it then needs its public address
and its API keys from the environment, and an explicit choice of analyzer (``DIAGPRO_ANALYZER``),
so nothing a customer pays for depends on a guess.
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

# Settings that say "this runs on a cloud": any of them given means the service is deployed.
_CLOUD_SWITCHES = (
    d.GCP_PROJECT,
    d.STRIPE_SECRET_KEY,
    d.VAI_MODEL,
    d.VAI_LOCATION,
    d.REPORT_BUCKET,
    d.PUBSUB_TOPIC,
    d.PUBSUB_SUBSCRIPTION,
)


def cloud_settings(values: Values) -> CloudSettings:
    stripe = _stripe(values)
    storage = _storage(values)
    firestore = _firestore(values)
    pubsub = _pubsub(values)
    deployed = (
        values.given(*_CLOUD_SWITCHES)
        or stripe.enabled
        or storage.enabled
        or firestore.enabled
        or pubsub.enabled
    )
    vertex = _vertex(values, deployed=deployed)
    if deployed:
        _deployed_requirements(values)
    return CloudSettings(
        stripe=stripe, vertex=vertex, storage=storage, firestore=firestore, pubsub=pubsub
    )


def _deployed_requirements(values: Values) -> None:
    """What a deployment cannot guess. The links in every email and redirect need the public
    address (the instance's own is unknown behind a load balancer or gateway), and each instance
    would otherwise make a key of its own, so a client's key would work on one instance only."""
    if not values.given(d.PUBLIC_BASE_URL):
        values.refuse(
            "DIAGPRO_PUBLIC_BASE_URL is required once a cloud setting is given: set it to the "
            "address customers use (the API Gateway's or the service's https URL)"
        )
    if not values.given(d.API_KEYS):
        values.refuse(
            "DIAGPRO_API_KEYS is required once a cloud setting is given: set the keys clients "
            "send in x-api-key (from Secret Manager); no key is made per instance"
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


def _vertex(values: Values, *, deployed: bool) -> VertexSettings:
    location, base_url = values[d.VAI_LOCATION], values[d.VERTEX_BASE_URL]
    choice = values[d.ANALYZER]
    if not choice and (deployed or values.given(d.VERTEX_BASE_URL)):
        values.refuse(
            "DIAGPRO_ANALYZER is not set: choose who writes the reports, `vertex` (Gemini on "
            "Vertex AI, with GCP_PROJECT and VAI_MODEL) or `offline` (the built-in knowledge "
            "base); with cloud settings given, diagpro does not choose for you"
        )
    if choice != "vertex":
        return VertexSettings("", location, "", base_url)
    project, model = values[d.GCP_PROJECT], values[d.VAI_MODEL]
    if not project:
        values.refuse("DIAGPRO_ANALYZER=vertex but GCP_PROJECT is missing")
    if not model:
        values.refuse(
            "DIAGPRO_ANALYZER=vertex but VAI_MODEL is missing: set a current GA Gemini model id "
            "(e.g. gemini-3.5-flash); there is no default, because model ids retire"
        )
    return VertexSettings(project, location, model, base_url)


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

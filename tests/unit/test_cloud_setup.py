"""``diagpro cloud-setup --print``: valid bash, every resource created before a later command
uses it, the Firestore indexes exactly those of the JSON, only declared settings, and the
customer's emails sent through the relay it is given (or, chosen, not at all).
tests/e2e/test_cloud_setup_run.py runs the script against the real gcloud's argument parser."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from diagpro.config import load_settings
from diagpro.config.declarations import SETTINGS
from diagpro.domain.retention import DEFAULT_RETENTION_DAYS
from diagpro.entrypoints import cli
from diagpro.entrypoints.cloud_setup import (
    APIS,
    DEPLOY_DIR,
    CloudSetupError,
    Deployment,
    index_commands,
    service_env,
    setup_script,
    shell_assignments,
)
from diagpro.entrypoints.cloud_setup_email import CustomerEmail

# The claim query's index as issue 9's contract suggests it (part A owns the real file).
SAMPLE_INDEXES = {
    "indexes": [
        {
            "collectionGroup": "jobs",
            "queryScope": "COLLECTION",
            "fields": [
                {"fieldPath": "state", "order": "ASCENDING"},
                {"fieldPath": "due_at", "order": "ASCENDING"},
            ],
        },
        {
            "collectionGroup": "events",
            "queryScope": "COLLECTION_GROUP",
            "fields": [
                {"fieldPath": "tags", "arrayConfig": "CONTAINS"},
                {"fieldPath": "at", "order": "DESCENDING"},
            ],
        },
    ],
    "fieldOverrides": [],
}
# SendGrid's SMTP relay: user `apikey`, the API key as password
# (https://www.twilio.com/docs/sendgrid/for-developers/sending-email/integrating-with-the-smtp-api).
RELAY = CustomerEmail(
    sender_address="diagpro <reports@my-shop.example.com>",
    smtp_host="smtp.sendgrid.net",
    smtp_user="apikey",
)
DEPLOYMENT = Deployment(
    project="my-shop-123",
    region="us-central1",
    stripe_api_version="2025-09-30.clover",
    email=RELAY,
)


@pytest.fixture
def deploy_dir(tmp_path: Path) -> Path:
    """deploy/ with the real service.yaml and the sample indexes."""
    folder = tmp_path / "deploy"
    folder.mkdir()
    (folder / "service.yaml").write_text(
        (DEPLOY_DIR / "service.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (folder / "firestore.indexes.json").write_text(json.dumps(SAMPLE_INDEXES), encoding="utf-8")
    return folder


@pytest.fixture
def script(deploy_dir: Path) -> str:
    return setup_script(DEPLOYMENT, deploy_dir)


def _commands(script: str) -> list[str]:
    """The script's commands, one string each (continuations joined, comments dropped)."""
    body = re.sub(r"<<EOF\n.*?\nEOF", "<<EOF", script, flags=re.DOTALL)
    lines = [line for line in body.splitlines() if not line.lstrip().startswith("#")]
    return [c.strip() for c in re.sub(r"\\\n\s*", " ", "\n".join(lines)).splitlines() if c.strip()]


def _index_of(commands: list[str], pattern: str) -> int:
    found = [n for n, command in enumerate(commands) if re.search(pattern, command)]
    assert found, f"no command matches {pattern!r}"
    return found[0]


def test_the_script_is_valid_bash(script: str):
    result = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert script.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in script


def test_every_shell_variable_is_set_before_it_is_used(script: str):
    assigned = shell_assignments(script)
    # checked first, each with the message to export it
    from_operator = {"STRIPE_SECRET_KEY", "DIAGPRO_SMTP_PASSWORD"}
    # the operator's choice, only ever read with a default (set -u would stop at a bare use)
    optional = {"DIAGPRO_OPERATOR_KEYS"}
    for number, line in enumerate(script.splitlines(), 1):
        for name in re.findall(r"\$\{?([A-Z_][A-Z0-9_]*)", line):
            if name in from_operator:
                continue
            if name in optional:
                assert f"${{{name}:-" in line, f"line {number} uses ${name} without a default"
                continue
            assert name in assigned, f"line {number} uses ${name}, never assigned"
            assert assigned[name] <= number, f"line {number} uses ${name} before it is set"


# A resource, the command that creates it, and what later commands use it by.
RESOURCES = [
    (r"service-accounts create diagpro-runtime\b", DEPLOYMENT.runtime),
    (r"service-accounts create diagpro-push\b", DEPLOYMENT.push_invoker),
    (r"service-accounts create diagpro-gateway\b", DEPLOYMENT.gateway_backend),
    (r"artifacts repositories create diagpro-images\b", "/diagpro-images/"),
    (r"builds submit", "docker.pkg.dev/my-shop-123/diagpro-images/diagpro:"),
    (r"firestore databases create", "firestore indexes"),
    (r"buckets create gs://my-shop-123-diagpro-reports\b", "my-shop-123-diagpro-reports"),
    (r"topics create diagpro-jobs$|topics create diagpro-jobs ", "diagpro-jobs "),
    (r"topics create diagpro-jobs-dead-letter\b", "diagpro-jobs-dead-letter"),
    (r"api-gateway apis create diagpro-api\b", "diagpro-api"),
    (r"api-gateway api-configs create", "--api-config="),
    (r"api-gateway gateways create diagpro-gateway\b", "gateways describe diagpro-gateway"),
    (r"api-keys create", "api-keys list"),
    (r"webhook_endpoints", "webhook.json"),
    (r"secrets create diagpro-stripe-secret-key\b", "diagpro-stripe-secret-key"),
    (r"secrets create diagpro-stripe-webhook-secret\b", "diagpro-stripe-webhook-secret"),
    (r"secrets create diagpro-api-keys\b", "diagpro-api-keys"),
    (r"secrets create diagpro-link-secret\b", "diagpro-link-secret"),
    (r"secrets create diagpro-smtp-password\b", "diagpro-smtp-password"),
    (r"run services replace", "run services add-iam-policy-binding diagpro "),
    (r"subscriptions create diagpro-jobs-push\b", "subscriptions add-iam-policy-binding"),
    (r"run jobs deploy diagpro-doctor\b", "run jobs execute diagpro-doctor"),
]


@pytest.mark.parametrize(("creates", "used_by"), RESOURCES, ids=[r[0] for r in RESOURCES])
def test_every_resource_is_created_before_a_command_uses_it(script: str, creates, used_by):
    commands = _commands(script)
    created = _index_of(commands, creates)
    uses = [n for n, command in enumerate(commands) if used_by in command and n != created]
    early = [commands[n] for n in uses if n < created]
    assert not early, f"used before `{creates}` creates it: {early}"


def test_secrets_exist_and_are_readable_before_the_service_starts(script: str):
    commands = _commands(script)
    deploy = _index_of(commands, r"run services replace")
    for secret in (
        "stripe-secret-key",
        "stripe-webhook-secret",
        "api-keys",
        "link-secret",
        "smtp-password",
        "operator-keys",
    ):
        assert _index_of(commands, rf"secrets create diagpro-{secret}\b") < deploy
        assert _index_of(commands, rf"secrets add-iam-policy-binding diagpro-{secret}\b") < deploy
    for role in ("roles/datastore.user", "roles/aiplatform.user"):
        assert _index_of(commands, rf"projects add-iam-policy-binding .*{role}") < deploy
    # A service in push mode starts with its push subscription already there.
    assert _index_of(commands, r"subscriptions create diagpro-jobs-push\b") < deploy


def test_every_api_is_enabled_first_and_the_gateways_own_once_it_exists(script: str):
    commands = _commands(script)
    first = _index_of(commands, r"^gcloud services enable run\.googleapis\.com")
    assert set(APIS) <= set(shlex.split(commands[first]))
    assert first < _index_of(commands, r"service-accounts create")
    named = _index_of(commands, r"^MANAGED_SERVICE=\$\(gcloud api-gateway apis describe")
    enabled = _index_of(commands, r'^gcloud services enable "\$MANAGED_SERVICE"')
    assert _index_of(commands, r"api-gateway apis create") < named < enabled
    assert enabled < _index_of(commands, r"api-keys create")


def test_the_push_subscription_and_the_sweep_carry_oidc_tokens_of_the_push_invoker(script: str):
    commands = _commands(script)
    push = shlex.split(commands[_index_of(commands, r"subscriptions create diagpro-jobs-push")])
    assert "--push-endpoint=$SERVICE_URL/tasks/jobs" in push
    assert f"--push-auth-service-account={DEPLOYMENT.push_invoker}" in push
    assert "--push-auth-token-audience=$SERVICE_URL" in push
    assert "--ack-deadline=600" in push
    assert {"--min-retry-delay=10s", "--max-retry-delay=600s"} <= set(push)
    assert {"--dead-letter-topic=diagpro-jobs-dead-letter", "--max-delivery-attempts=10"} <= set(
        push
    )
    sweep = shlex.split(commands[_index_of(commands, r"scheduler jobs create http")])
    assert "--uri=$SERVICE_URL/tasks/sweep" in sweep
    assert "--http-method=POST" in sweep
    assert f"--oidc-service-account-email={DEPLOYMENT.push_invoker}" in sweep
    assert "--oidc-token-audience=$SERVICE_URL" in sweep
    invokers = [c for c in commands if "roles/run.invoker" in c]
    assert len(invokers) == 2
    assert any(DEPLOYMENT.push_invoker in c for c in invokers)
    assert any(DEPLOYMENT.gateway_backend in c for c in invokers)
    assert "allUsers" not in script


def test_the_webhook_endpoint_is_pinned_and_subscribed_to_the_payment_events(script: str):
    commands = _commands(script)
    create = shlex.split(commands[_index_of(commands, r"api\.stripe\.com/v1/webhook_endpoints")])
    data = [create[n + 1] for n, word in enumerate(create) if word == "-d"]
    assert "api_version=2025-09-30.clover" in data
    assert "url=$PUBLIC_BASE_URL/webhook/stripe" in data
    assert {
        "enabled_events[]=checkout.session.completed",
        "enabled_events[]=checkout.session.expired",
        "enabled_events[]=charge.refunded",
    } <= set(data)


def _parsed_index(command: str) -> dict:
    """A `gcloud firestore indexes composite create` read back into firestore.indexes.json."""
    flags = dict(
        word[2:].split("=", 1)
        for word in shlex.split(command)
        if word.startswith("--") and not word.startswith("--field-config")
    )
    fields = []
    for word in shlex.split(command):
        if word.startswith("--field-config="):
            config = dict(part.split("=", 1) for part in word.split("=", 1)[1].split(","))
            field = {"fieldPath": config["field-path"]}
            if "order" in config:
                field["order"] = config["order"].upper()
            else:
                field["arrayConfig"] = config["array-config"].upper()
            fields.append(field)
    scope = {"collection": "COLLECTION", "collection-group": "COLLECTION_GROUP"}
    return {
        "collectionGroup": flags["collection-group"],
        "queryScope": scope[flags["query-scope"]],
        "fields": fields,
    }


def _index_commands_in(script: str) -> list[str]:
    return [c for c in _commands(script) if "firestore indexes composite create" in c]


def test_one_index_command_per_index_of_the_json(script: str):
    parsed = [_parsed_index(c) for c in _index_commands_in(script)]
    assert parsed == SAMPLE_INDEXES["indexes"]


def test_the_shipped_indexes_are_the_ones_created():
    shipped = json.loads((DEPLOY_DIR / "firestore.indexes.json").read_text(encoding="utf-8"))
    commands = index_commands(shipped, DEPLOYMENT)
    expected = [
        {"queryScope": "COLLECTION", **index} if "queryScope" not in index else index
        for index in shipped["indexes"]
    ]
    assert [_parsed_index(c) for c in commands] == [
        {k: index[k] for k in ("collectionGroup", "queryScope", "fields")} for index in expected
    ]


def test_the_doctor_runs_with_only_declared_settings(script: str):
    commands = _commands(script)
    job = shlex.split(commands[_index_of(commands, r"run jobs deploy diagpro-doctor")])
    env = next(w for w in job if w.startswith("--set-env-vars="))[len("--set-env-vars=^|^") :]
    secrets = next(w for w in job if w.startswith("--set-secrets="))[len("--set-secrets=") :]
    names = {pair.split("=", 1)[0] for pair in env.split("|")}
    names |= {pair.split("=", 1)[0] for pair in secrets.split(",")}
    declared = {setting.env for setting in SETTINGS}
    assert not names - declared
    assert "--service-account=" + DEPLOYMENT.runtime in job


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"project": "My_Project"}, "--project 'My_Project'"),
        ({"region": "mars"}, "--region 'mars'"),
        ({"bucket": "-bad-"}, "--bucket '-bad-'"),
        ({"topic": "Jobs!"}, "--topic 'Jobs!'"),
        ({"stripe_api_version": " "}, "--stripe-api-version"),
        ({"sweep_schedule": "often"}, "--sweep-schedule 'often'"),
    ],
)
def test_bad_names_are_refused_with_the_flag_named(deploy_dir, changes, named):
    fields = {
        "project": "my-shop-123",
        "region": "us-central1",
        "stripe_api_version": "v",
        "email": RELAY,
    }
    with pytest.raises(CloudSetupError, match=re.escape(named)):
        setup_script(Deployment(**{**fields, **changes}), deploy_dir)


@pytest.mark.parametrize(
    ("indexes", "named"),
    [
        ([], "must hold"),
        ({"indexes": [{"fields": []}]}, "index 1 has no collectionGroup"),
        ({"indexes": [{"collectionGroup": "jobs", "fields": [{"fieldPath": "a"}]}]}, "two"),
        (
            {"indexes": [{"collectionGroup": "j", "fields": [{"order": "ASCENDING"}, {"x": 1}]}]},
            "fieldPath",
        ),
        (
            {
                "indexes": [
                    {
                        "collectionGroup": "j",
                        "fields": [{"fieldPath": "a", "order": "UP"}, {"fieldPath": "b"}],
                    }
                ]
            },
            "order ASCENDING/DESCENDING",
        ),
    ],
)
def test_an_index_file_gcloud_cannot_express_is_refused(indexes, named):
    with pytest.raises(CloudSetupError, match=re.escape(named)):
        index_commands(indexes, DEPLOYMENT)


def test_the_command_prints_the_script_and_names_what_is_wrong(deploy_dir, capsys, tmp_path):
    args = ["cloud-setup", "--print", "--project", "my-shop-123", "--region", "europe-west1"]
    args += ["--deploy-dir", str(deploy_dir), "--stripe-api-version", "2025-09-30.clover"]
    args += ["--email-from", "reports@my-shop.example.com", "--smtp-host", "smtp.gmail.com"]
    assert cli.main(args) == 0
    printed = capsys.readouterr().out
    assert "gcloud run services replace" in printed
    assert "europe-west1-docker.pkg.dev/my-shop-123/diagpro-images/diagpro:" in printed

    output = tmp_path / "setup.sh"
    assert cli.main([*args, "--output", str(output)]) == 0
    assert output.read_text() == printed

    (deploy_dir / "firestore.indexes.json").unlink()
    assert cli.main(args) == 2
    assert "firestore.indexes.json" in capsys.readouterr().err

    assert cli.main([*args[:3], "Bad Project", *args[4:]]) == 2
    assert "--project 'Bad Project' is not a project id" in capsys.readouterr().err


def test_the_purge_is_scheduled_daily_with_the_push_invokers_token_and_the_bucket_ages_out(
    script: str,
):
    commands = _commands(script)
    purge = shlex.split(commands[_index_of(commands, r"scheduler jobs create http diagpro-purge")])
    assert "--uri=$SERVICE_URL/tasks/purge" in purge
    assert "--http-method=POST" in purge
    assert "--schedule=17 3 * * *" in purge
    assert f"--oidc-service-account-email={DEPLOYMENT.push_invoker}" in purge
    assert "--oidc-token-audience=$SERVICE_URL" in purge
    lifecycle = shlex.split(commands[_index_of(commands, r"buckets update")])
    assert "--lifecycle-file=deploy/report-bucket-lifecycle.json" in lifecycle
    assert _index_of(commands, r"buckets create") < _index_of(commands, r"buckets update")


def test_the_bucket_keeps_reports_longer_than_the_default_retention_period():
    lifecycle = DEPLOY_DIR / "report-bucket-lifecycle.json"
    rules = json.loads(lifecycle.read_text(encoding="utf-8"))["rule"]
    ages = [r["condition"]["age"] for r in rules if "age" in r["condition"]]
    assert all(r["action"]["type"] == "Delete" for r in rules)
    # The purge deletes a report first; the bucket's rule only catches what it missed, and
    # must never take a report whose order is still within its period.
    assert ages and min(ages) > DEFAULT_RETENTION_DAYS


# -- the customer's emails -----------------------------------------------------------------------


def _service(script: str) -> tuple[dict[str, str], dict[str, str]]:
    """The service definition the script deploys: (plain env, setting -> secret name)."""
    definition = re.search(r"<<EOF\n(.*?)\nEOF", script, flags=re.DOTALL)
    assert definition
    return service_env(definition.group(1))


def _doctor_job(script: str) -> tuple[dict[str, str], dict[str, str]]:
    commands = _commands(script)
    job = shlex.split(commands[_index_of(commands, r"run jobs deploy diagpro-doctor")])
    env = next(w for w in job if w.startswith("--set-env-vars="))[len("--set-env-vars=^|^") :]
    secrets = next(w for w in job if w.startswith("--set-secrets="))[len("--set-secrets=") :]
    return (
        dict(pair.split("=", 1) for pair in env.split("|")),
        {k: v.removesuffix(":latest") for k, v in (p.split("=", 1) for p in secrets.split(","))},
    )


def test_the_service_and_its_doctor_send_through_the_relay_given(script: str):
    plain, secret = _service(script)
    assert {k: v for k, v in plain.items() if k.startswith(("DIAGPRO_EMAIL", "DIAGPRO_SMTP"))} == {
        "DIAGPRO_EMAIL_SENDER": "smtp",
        "DIAGPRO_EMAIL_FROM": "diagpro <reports@my-shop.example.com>",
        "DIAGPRO_SMTP_HOST": "smtp.sendgrid.net",
        "DIAGPRO_SMTP_PORT": "587",
        "DIAGPRO_SMTP_SECURITY": "starttls",
        "DIAGPRO_SMTP_USER": "apikey",
    }
    assert secret["DIAGPRO_SMTP_PASSWORD"] == "diagpro-smtp-password"
    # The doctor job checks the login and the sender with exactly the service's settings.
    job_plain, job_secret = _doctor_job(script)
    assert job_plain["DIAGPRO_EMAIL_FROM"] == plain["DIAGPRO_EMAIL_FROM"]
    assert {k: v for k, v in job_plain.items() if k.startswith("DIAGPRO_SMTP")} == {
        k: v for k, v in plain.items() if k.startswith("DIAGPRO_SMTP")
    }
    assert job_secret["DIAGPRO_SMTP_PASSWORD"] == "diagpro-smtp-password"


def test_the_smtp_password_goes_from_the_operators_environment_to_secret_manager_only(
    deploy_dir, capsys, monkeypatch
):
    monkeypatch.setenv("DIAGPRO_SMTP_PASSWORD", "SG.the-operators-real-key")
    args = ["cloud-setup", "--print", "--project", "my-shop-123", "--region", "us-central1"]
    args += ["--deploy-dir", str(deploy_dir), "--smtp-host", "smtp.sendgrid.net"]
    args += ["--email-from", "reports@my-shop.example.com", "--smtp-user", "apikey"]
    assert cli.main(args) == 0
    script = capsys.readouterr().out
    assert "SG.the-operators-real-key" not in script
    assert "--smtp-password" not in script
    uses = [line for line in script.splitlines() if "DIAGPRO_SMTP_PASSWORD" in line]
    # The check that it is exported, the secret made from it on stdin (printf is a builtin:
    # on no command line), and gateway-spec run without it. The rest are comments and the
    # service's secretKeyRef / the doctor's --set-secrets.
    assert re.search(r'^: "\$\{DIAGPRO_SMTP_PASSWORD:\?export', script, flags=re.MULTILINE)
    stored = [line for line in uses if "secrets create" in line]
    assert stored == [
        "printf '%s' \"$DIAGPRO_SMTP_PASSWORD\" | gcloud secrets create diagpro-smtp-password \\"
    ]
    assert any(
        line.startswith("env -u STRIPE_SECRET_KEY -u DIAGPRO_SMTP_PASSWORD ") for line in uses
    )
    expanded = [line for line in uses if "$DIAGPRO_SMTP_PASSWORD" in line]
    assert expanded == stored
    commands = _commands(script)
    readable = _index_of(
        commands,
        r"secrets add-iam-policy-binding diagpro-smtp-password\s+"
        rf"--member=serviceAccount:{re.escape(DEPLOYMENT.runtime)}\s+"
        r"--role=roles/secretmanager.secretAccessor",
    )
    assert readable < _index_of(commands, r"run services replace")


def test_the_operator_key_is_made_or_taken_from_the_environment_into_secret_manager_only(
    deploy_dir, capsys, monkeypatch
):
    monkeypatch.setenv("DIAGPRO_OPERATOR_KEYS", "op_the-operators-own-key-123")
    args = ["cloud-setup", "--print", "--project", "my-shop-123", "--region", "us-central1"]
    args += ["--deploy-dir", str(deploy_dir), "--no-email"]
    assert cli.main(args) == 0
    script = capsys.readouterr().out
    assert "op_the-operators-own-key-123" not in script
    # Piped in from the operator's export, or a fresh 256-bit key made on their machine by
    # Python's `secrets` (printf is a builtin: the key is on no command line).
    [stored] = [
        line for line in script.splitlines() if "secrets create diagpro-operator-keys" in line
    ]
    assert stored.startswith(
        "printf '%s' \"${DIAGPRO_OPERATOR_KEYS:-$(python3 -c 'import secrets; "
        "print(secrets.token_urlsafe(32))')}\" | gcloud secrets create diagpro-operator-keys"
    )
    commands = _commands(script)
    readable = _index_of(
        commands,
        r"secrets add-iam-policy-binding diagpro-operator-keys\s+"
        rf"--member=serviceAccount:{re.escape(DEPLOYMENT.runtime)}\s+"
        r"--role=roles/secretmanager.secretAccessor",
    )
    assert readable < _index_of(commands, r"run services replace")
    # The service and its doctor read it from the secret; the operator is told how to.
    assert _service(script)[1]["DIAGPRO_OPERATOR_KEYS"] == "diagpro-operator-keys"
    assert _doctor_job(script)[1]["DIAGPRO_OPERATOR_KEYS"] == "diagpro-operator-keys"
    assert (
        "gcloud secrets versions access latest --secret=diagpro-operator-keys "
        "--project=my-shop-123" in script.rsplit("\n# --", 1)[-1]
    )


def _made_key(script: str, operator_keys: str | None) -> str:
    """What the script's operator-key line sends to Secret Manager, run by bash."""
    [line] = [
        line for line in script.splitlines() if "secrets create diagpro-operator-keys" in line
    ]
    value = line.split(" | ", 1)[0]
    env = {"PATH": "/usr/bin:/bin"}
    if operator_keys is not None:
        env["DIAGPRO_OPERATOR_KEYS"] = operator_keys
    result = subprocess.run(
        ["bash", "-euc", value], capture_output=True, text=True, env=env, check=True
    )
    return result.stdout


def test_the_made_operator_key_is_one_the_service_accepts(script: str):
    made = _made_key(script, None)
    assert len(made) >= 43 and made != _made_key(script, None)  # 32 random bytes, base64url
    settings = load_settings({"DIAGPRO_OPERATOR_KEYS": made})
    assert settings.operator_keys == (made,)
    given = "op_given_key_0123456789,op_another_key_0123456"
    assert _made_key(script, given) == given


def test_a_deployment_that_would_email_no_customer_is_refused(deploy_dir, capsys):
    unsent = Deployment(project="my-shop-123", region="us-central1", stripe_api_version="v")
    with pytest.raises(CloudSetupError, match="--no-email") as refused:
        setup_script(unsent, deploy_dir)
    assert "--email-from and --smtp-host" in str(refused.value)
    args = ["cloud-setup", "--print", "--project", "my-shop-123", "--region", "us-central1"]
    assert cli.main([*args, "--deploy-dir", str(deploy_dir)]) == 2
    err = capsys.readouterr().err
    assert "would send customers no email" in err
    assert "DIAGPRO_SMTP_PASSWORD" in err


def test_no_email_is_a_choice_the_service_and_the_doctor_are_told_of(deploy_dir, capsys):
    args = ["cloud-setup", "--print", "--project", "my-shop-123", "--region", "us-central1"]
    assert cli.main([*args, "--deploy-dir", str(deploy_dir), "--no-email"]) == 0
    script = capsys.readouterr().out
    plain, secret = _service(script)
    job_plain, job_secret = _doctor_job(script)
    for env in (plain, job_plain):
        assert env["DIAGPRO_EMAIL_SENDER"] == "outbox"  # given: chosen, not a default
        assert not [name for name in env if name.startswith("DIAGPRO_SMTP")]
        assert "DIAGPRO_EMAIL_FROM" not in env
    assert "DIAGPRO_SMTP_PASSWORD" not in secret
    assert "DIAGPRO_SMTP_PASSWORD" not in job_secret
    assert "diagpro-smtp-password" not in script
    assert "${DIAGPRO_SMTP_PASSWORD:?" not in script  # nothing to export
    result = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_relays_port_security_and_login_are_the_ones_given(deploy_dir, capsys):
    args = ["cloud-setup", "--print", "--project", "my-shop-123", "--region", "us-central1"]
    args += ["--deploy-dir", str(deploy_dir), "--email-from", "Shop <reports@shop.example.com>"]
    args += ["--smtp-host", "smtp.gmail.com"]
    assert cli.main(args) == 0
    plain, _ = _service(capsys.readouterr().out)
    # Gmail's (and Mailgun's) login is the mailbox: the sender's address, by default.
    assert plain["DIAGPRO_SMTP_USER"] == "reports@shop.example.com"
    assert (plain["DIAGPRO_SMTP_PORT"], plain["DIAGPRO_SMTP_SECURITY"]) == ("587", "starttls")
    args += ["--smtp-port", "465", "--smtp-security", "tls", "--smtp-user", "postmaster"]
    assert cli.main(args) == 0
    plain, _ = _service(capsys.readouterr().out)
    assert plain["DIAGPRO_SMTP_PORT"] == "465"
    assert plain["DIAGPRO_SMTP_SECURITY"] == "tls"
    assert plain["DIAGPRO_SMTP_USER"] == "postmaster"


@pytest.mark.parametrize(
    ("email", "named"),
    [
        (
            CustomerEmail(no_email=True, smtp_host="smtp.gmail.com"),
            "--no-email contradicts --smtp-host",
        ),
        (CustomerEmail(no_email=True, smtp_port=465), "--no-email contradicts --smtp-port"),
        (CustomerEmail(smtp_host="smtp.gmail.com"), "--email-from is needed"),
        (CustomerEmail(sender_address="r@shop.example.com"), "--smtp-host is needed"),
        (
            CustomerEmail(sender_address="r@shop.example.com", smtp_host="smtp gmail"),
            "--smtp-host 'smtp gmail' is not a host name",
        ),
        (
            CustomerEmail(sender_address="r@shop.example.com", smtp_host="mx.x.com", smtp_port=25),
            "--smtp-port 25 is blocked on Google Cloud",
        ),
        (
            CustomerEmail(
                sender_address="r@shop.example.com", smtp_host="mx.x.com", smtp_security="none"
            ),
            "--smtp-security 'none' must be one of starttls, tls",
        ),
        (
            CustomerEmail(
                sender_address="r@shop.example.com", smtp_host="mx.x.com", smtp_user="u$HOME"
            ),
            "--smtp-user 'u$HOME' must not hold $",
        ),
        # The service's own rule on a sender address, run before anything is deployed.
        (
            CustomerEmail(sender_address="reports", smtp_host="smtp.gmail.com", smtp_user="me"),
            "DIAGPRO_EMAIL_FROM='reports' is not an email address",
        ),
    ],
)
def test_email_settings_the_service_could_not_send_with_are_refused(deploy_dir, email, named):
    deployment = Deployment(
        project="my-shop-123", region="us-central1", stripe_api_version="v", email=email
    )
    with pytest.raises(CloudSetupError, match=re.escape(named)):
        setup_script(deployment, deploy_dir)


def test_a_sender_name_with_quotes_and_commas_reaches_the_service_and_the_doctor_intact(deploy_dir):
    sender = '"Shop, Inc." <reports@shop.example.com>'
    email = CustomerEmail(sender_address=sender, smtp_host="smtp.gmail.com")
    script = setup_script(
        Deployment(
            project="my-shop-123", region="us-central1", stripe_api_version="v", email=email
        ),
        deploy_dir,
    )
    assert _service(script)[0]["DIAGPRO_EMAIL_FROM"] == sender
    assert _doctor_job(script)[0]["DIAGPRO_EMAIL_FROM"] == sender


# -- the Prometheus sidecar (--prometheus-sidecar) -----------------------------------------------

SIDECAR = Deployment(
    project="my-shop-123",
    region="us-central1",
    stripe_api_version="2025-09-30.clover",
    email=RELAY,
    prometheus_sidecar=True,
)


def test_the_sidecar_deployment_creates_its_config_and_rights_before_the_service(tmp_path):
    script = setup_script(SIDECAR, DEPLOY_DIR)
    result = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    commands = _commands(script)
    deploy = _index_of(commands, r"run services replace")
    assert _index_of(commands, r"services enable .*monitoring\.googleapis\.com") < deploy
    created = commands[_index_of(commands, r"secrets create diagpro-run-monitoring\b")]
    assert "--data-file=deploy/run-monitoring.yaml" in created
    assert _index_of(commands, r"secrets create diagpro-run-monitoring\b") < deploy
    runtime = re.escape(DEPLOYMENT.runtime)
    for grant in (
        r"secrets add-iam-policy-binding diagpro-run-monitoring\s+"
        rf"--member=serviceAccount:{runtime}",
        rf"projects add-iam-policy-binding my-shop-123\s+--member=serviceAccount:{runtime}\s+"
        r"--role=roles/monitoring.metricWriter",
    ):
        assert _index_of(commands, grant) < deploy
    definition = re.search(r"<<EOF\n(.*?)\nEOF", script, flags=re.DOTALL)
    assert definition
    containers = yaml.safe_load(definition.group(1))["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["diagpro", "collector"]
    # The service and its doctor: the same settings as without the sidecar, and the port.
    plain, secret = _service(script)
    base_plain, base_secret = _service(setup_script(DEPLOYMENT, DEPLOY_DIR))
    assert plain == {**base_plain, "DIAGPRO_METRICS_PORT": "9464"} and secret == base_secret
    assert _doctor_job(script)[0]["DIAGPRO_METRICS_PORT"] == "9464"


def test_without_the_flag_there_is_no_sidecar(script: str):
    assert "collector" not in script and "monitoring" not in script


def test_a_sidecar_scraping_another_port_than_the_service_serves_is_refused(tmp_path):
    folder = tmp_path / "deploy"
    folder.mkdir()
    for name in ("service-with-prometheus.yaml", "firestore.indexes.json"):
        (folder / name).write_text((DEPLOY_DIR / name).read_text(encoding="utf-8"))
    config = (DEPLOY_DIR / "run-monitoring.yaml").read_text(encoding="utf-8")
    (folder / "run-monitoring.yaml").write_text(config.replace('"9464"', '"9465"'))
    with pytest.raises(
        CloudSetupError, match=r"scrapes port\(s\) 9465 .* DIAGPRO_METRICS_PORT=9464"
    ):
        setup_script(SIDECAR, folder)


def test_the_flag_chooses_the_sidecar(deploy_dir, capsys):
    args = ["cloud-setup", "--print", "--project", "my-shop-123", "--region", "us-central1"]
    assert cli.main([*args, "--no-email", "--prometheus-sidecar"]) == 0
    assert "secrets create diagpro-run-monitoring" in capsys.readouterr().out

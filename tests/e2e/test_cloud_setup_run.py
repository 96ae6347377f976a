"""The setup script run as an operator would run it, with no Google project behind it: ``gcloud``
and ``curl`` on its PATH are recorders that answer what the script captures (a project number, a
host name, a key), ``diagpro gateway-spec`` and everything else are real. Then every distinct
gcloud command it made is handed to the real gcloud, without credentials: gcloud parses the
command line before it asks for an account, so an unknown flag or a bad value fails with its
usage error (exit 2), while a command it accepts stops at "no active account" (exit 1)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from diagpro.entrypoints.cloud_setup import DEPLOY_DIR, setup_script
from tests.unit.test_cloud_setup import DEPLOYMENT, SAMPLE_INDEXES

pytestmark = pytest.mark.process

ROOT = Path(__file__).resolve().parents[2]
GCLOUD = shutil.which(os.environ.get("GCLOUD", "gcloud"))

SMTP_PASSWORD = "SG.an-api-key-of-the-relay"

# What the recorders answer to the commands whose output the script captures.
ANSWERS = {
    "value(projectNumber)": "123456789012",
    "value(managedService)": "diagpro-api-0a1b2c3d4e5f6.apigateway.my-shop-123.cloud.goog",
    "value(defaultHostname)": "diagpro-gateway-1a2b3c4d.uc.gateway.dev",
    "value(name)": "projects/123456789012/locations/global/keys/0a1b2c3d",
    "value(keyString)": "AIzaSyTestKey-0123456789abcdefghijklmno",
}

RECORDER = """#!{python}
import json, os, shutil, sys
log = os.environ["SETUP_LOG"]
args = sys.argv[1:]
copies = []
for word in args:
    value = word.split("=", 1)[-1]
    if value.endswith((".yaml", ".json")) and os.path.isfile(value):
        copy = os.path.join(os.path.dirname(log), f"file{{len(open(log).readlines())}}")
        shutil.copy(value, copy)
        copies.append(copy)
with open(log, "a") as out:
    out.write(json.dumps({{"tool": {tool!r}, "args": args, "files": copies, "stdin":
        sys.stdin.read() if not sys.stdin.isatty() and "--data-file=-" in args else None}}) + "\\n")
answers = {answers!r}
for word in args:
    for key, answer in answers.items():
        if key in word:
            print(answer)
if {tool!r} == "curl":
    print(json.dumps({{"id": "we_test", "secret": "whsec_test_0123456789abcdef"}}))
"""


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    tmp_path = tmp_path_factory.mktemp("cloud-setup")
    if GCLOUD is None:
        pytest.fail("gcloud is not installed: scripts/check-test-tools.sh says how to get it")
    deploy = tmp_path / "deploy"
    deploy.mkdir()
    shutil.copy(DEPLOY_DIR / "service.yaml", deploy / "service.yaml")
    (deploy / "firestore.indexes.json").write_text(json.dumps(SAMPLE_INDEXES))
    script = tmp_path / "cloud-setup.sh"
    script.write_text(setup_script(DEPLOYMENT, deploy))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("gcloud", "curl"):
        path = bin_dir / tool
        path.write_text(RECORDER.format(python=sys.executable, tool=tool, answers=ANSWERS))
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "log" / "calls.jsonl"
    log.parent.mkdir()
    log.touch()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DIAGPRO_", "STRIPE_"))},
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "SETUP_LOG": str(log),
        "STRIPE_SECRET_KEY": "sk_test_0123456789abcdefghijklmn",
        # Exported as the README says; `diagpro gateway-spec` must not trip over it.
        "DIAGPRO_SMTP_PASSWORD": SMTP_PASSWORD,
        "TMPDIR": str(tmp_path),
    }
    # Run from the checkout, as the README says (it builds from ., runs .venv/bin/diagpro).
    result = subprocess.run(
        ["bash", str(script)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in log.read_text().splitlines()]


def _shape(args: list[str]) -> tuple[tuple[str, ...], frozenset[str]]:
    """The command (its first three words) and its flags' names: gcloud takes ~1.5 s of CPU to
    start, so a command repeated for another secret or account is checked once."""
    words = tuple(a for a in args if not a.startswith("-"))[:3]
    return words, frozenset(a.split("=", 1)[0] for a in args if a.startswith("-"))


def _parse_check(args: list[str], config: Path) -> tuple[list[str], int, str]:
    env = {**os.environ, "CLOUDSDK_CONFIG": str(config), "CLOUDSDK_CORE_DISABLE_PROMPTS": "1"}
    result = subprocess.run(
        [str(GCLOUD), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    return args, result.returncode, result.stderr


def test_every_gcloud_command_is_one_gcloud_accepts(ran: list[dict], tmp_path: Path):
    calls = [call["args"] for call in ran if call["tool"] == "gcloud"]
    distinct = list({_shape(args): args for args in calls}.values())
    config = tmp_path / "gcloud-config"  # empty: no account, no project
    config.mkdir()
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda args: _parse_check(args, config), distinct))
    refused = [
        f"gcloud {' '.join(args)}\n  -> {err.strip().splitlines()[0] if err.strip() else code}"
        for args, code, err in results
        if code != 1 or "active account" not in err
    ]
    assert not refused, "gcloud refuses:\n" + "\n".join(refused)


def test_the_service_deployed_is_the_filled_definition(ran: list[dict]):
    (replace,) = [c for c in ran if c["args"][:3] == ["run", "services", "replace"]]
    (path,) = replace["files"]
    text = Path(path).read_text()
    assert "${" not in text
    spec = yaml.safe_load(text)
    (container,) = spec["spec"]["template"]["spec"]["containers"]
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert env["DIAGPRO_PUBLIC_BASE_URL"] == "https://" + ANSWERS["value(defaultHostname)"]
    assert env["DIAGPRO_PUSH_AUDIENCE"] == "https://diagpro-123456789012.us-central1.run.app"
    assert env["DIAGPRO_EMAIL_SENDER"] == "smtp"
    assert env["DIAGPRO_EMAIL_FROM"] == DEPLOYMENT.email.sender_address
    assert env["DIAGPRO_SMTP_HOST"] == DEPLOYMENT.email.smtp_host


def test_the_gateway_config_is_the_apps_own_spec(ran: list[dict]):
    (create,) = [c for c in ran if c["args"][:3] == ["api-gateway", "api-configs", "create"]]
    (path,) = create["files"]
    spec = yaml.safe_load(Path(path).read_text())
    backends = {
        op["x-google-backend"]["address"]
        for methods in spec["paths"].values()
        for op in methods.values()
    }
    assert backends == {"https://diagpro-123456789012.us-central1.run.app"}
    assert "/webhook/stripe" in spec["paths"]


def test_the_secrets_hold_what_the_earlier_commands_answered(ran: list[dict]):
    stored = {c["args"][2]: c["stdin"] for c in ran if c["args"][:2] == ["secrets", "create"]}
    assert stored["diagpro-stripe-secret-key"] == "sk_test_0123456789abcdefghijklmn"
    assert stored["diagpro-stripe-webhook-secret"] == "whsec_test_0123456789abcdef"
    assert stored["diagpro-api-keys"] == ANSWERS["value(keyString)"]
    assert len(stored["diagpro-link-secret"]) >= 32
    assert stored["diagpro-smtp-password"] == SMTP_PASSWORD
    # No DIAGPRO_OPERATOR_KEYS exported: a fresh key, one the service accepts, on no command line.
    operator_key = stored["diagpro-operator-keys"]
    assert len(operator_key) >= 43 and "," not in operator_key
    assert not [c for c in ran if any(operator_key in word for word in c["args"])]


def test_the_smtp_password_is_on_no_command_line(ran: list[dict]):
    assert not [c for c in ran if any(SMTP_PASSWORD in word for word in c["args"])]

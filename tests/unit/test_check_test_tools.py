"""scripts/check-test-tools.sh, the check make test runs before pytest: without gcloud, its
emulators or Java it fails and says how to install them, so the emulator tests are never skipped
silently. Each case builds the machine it describes (a fake SDK folder, a PATH of its own), so
the result does not depend on what this machine has installed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.emulators import PREFLIGHT, EmulatorUnavailable, firestore_emulator

pytestmark = pytest.mark.process

APT_INSTALL = (
    "sudo apt-get install -y google-cloud-cli google-cloud-cli-firestore-emulator "
    "google-cloud-cli-pubsub-emulator"
)
REPOSITORY = (
    "deb [signed-by=/usr/share/keyrings/cloud.google.gpg] https://packages.cloud.google.com/apt "
    "cloud-sdk main"
)
COMPONENTS = "gcloud components install cloud-firestore-emulator pubsub-emulator beta"


def _executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


def _sdk(root: Path, *components: str) -> Path:
    """A gcloud SDK folder laid out as Google's, with only ``components`` installed."""
    gcloud = _executable(root / "bin" / "gcloud")
    for component in components:
        (root / component).mkdir(parents=True)
    return gcloud


def _check(tmp_path: Path, gcloud: str, java: bool) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "path"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "readlink").symlink_to("/usr/bin/readlink")
    if java:
        _executable(bin_dir / "java")
    env = {"PATH": str(bin_dir), "GCLOUD": gcloud}
    return subprocess.run(
        ["/bin/bash", str(PREFLIGHT)], env=env, capture_output=True, text=True, timeout=30
    )


def test_without_gcloud_it_fails_with_googles_install_steps(tmp_path: Path) -> None:
    done = _check(tmp_path, str(tmp_path / "no-gcloud-here"), java=False)
    assert done.returncode == 1
    message = " ".join(done.stderr.split())
    assert (
        "missing: the gcloud CLI, the Firestore emulator, the Pub/Sub emulator, a Java runtime."
        in message
    )
    assert "https://cloud.google.com/sdk/docs/install#deb" in message
    assert "curl https://packages.cloud.google.com/apt/doc/apt-key.gpg" in message
    assert REPOSITORY in message
    assert APT_INSTALL in message
    assert COMPONENTS in message
    assert "default-jre-headless" in message


def test_an_sdk_without_the_emulators_names_the_missing_components(tmp_path: Path) -> None:
    gcloud = _sdk(tmp_path / "sdk", "lib/surface/beta")
    done = _check(tmp_path, str(gcloud), java=True)
    assert done.returncode == 1
    assert "missing: the Firestore emulator, the Pub/Sub emulator." in done.stderr
    assert COMPONENTS in done.stderr


def test_a_complete_sdk_with_java_passes_quietly(tmp_path: Path) -> None:
    gcloud = _sdk(
        tmp_path / "sdk",
        "platform/cloud-firestore-emulator",
        "platform/pubsub-emulator",
        "lib/surface/beta",
    )
    link = tmp_path / "gcloud-link"
    link.symlink_to(gcloud)  # as /usr/bin/gcloud links into /usr/lib/google-cloud-sdk/bin
    done = _check(tmp_path, str(link), java=True)
    assert (done.returncode, done.stderr) == (0, "")


def test_the_emulator_fixture_raises_the_same_instructions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GCLOUD", str(tmp_path / "no-gcloud-here"))
    with pytest.raises(EmulatorUnavailable) as raised, firestore_emulator():
        pass
    assert "missing: the gcloud CLI" in str(raised.value)
    assert APT_INSTALL in " ".join(str(raised.value).split())

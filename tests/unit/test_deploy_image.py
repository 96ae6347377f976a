"""What deploy/Dockerfile relies on, checked here because the image cannot be built in this
environment (no registry for base images): the Debian packages, the Python version, the
lockfile, the build context, the non-root user, and hadolint's rules.
tests/e2e/test_deploy_entry.py runs the image's command itself."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import yaml
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
LOCK = ROOT / "deploy" / "requirements.lock"
HADOLINT = Path(sys.executable).with_name("hadolint")

# The image's interpreter and platform, as `make lock` resolves for them.
IMAGE_PYTHON = "3.11"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    found = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            found.append((keyword.upper(), " ".join(rest.split())))
    return found


def _runs() -> list[str]:
    return [args for keyword, args in _instructions() if keyword == "RUN"]


def _script_packages() -> list[str]:
    """The service's package list of scripts/install-system-deps.sh (without --tests)."""
    script = (ROOT / "scripts" / "install-system-deps.sh").read_text(encoding="utf-8")
    match = re.search(r"^packages=\(([^)]*)\)", script, re.MULTILINE)
    assert match, "scripts/install-system-deps.sh no longer sets packages=(...)"
    return match.group(1).split()


def _apt_packages() -> list[str]:
    for run in _runs():
        for command in run.split("&&"):
            words = shlex.split(command)
            if words[:2] == ["apt-get", "install"]:
                return [w for w in words[2:] if not w.startswith("-")]
    raise AssertionError("deploy/Dockerfile installs no Debian packages")


def test_the_image_installs_exactly_the_system_packages_of_the_setup_script():
    assert sorted(_apt_packages()) == sorted(_script_packages()), (
        "deploy/Dockerfile's apt-get install and scripts/install-system-deps.sh's packages=(...) "
        "differ; the tests run with the script's list, so the image must have the same"
    )


def test_the_base_image_is_a_slim_python_the_project_accepts():
    (base,) = [args for keyword, args in _instructions() if keyword == "FROM"]
    match = re.fullmatch(r"python:(\d+\.\d+)-slim(?:-\w+)?", base)
    assert match, f"base image {base!r} is not an official python:X.Y-slim image"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert Version(match.group(1)) in SpecifierSet(project["requires-python"])
    assert match.group(1) == IMAGE_PYTHON, "make lock resolves for another Python than the image"


def test_the_service_runs_as_a_user_that_is_not_root():
    instructions = _instructions()
    users = [(n, args) for n, (keyword, args) in enumerate(instructions) if keyword == "USER"]
    assert users, "deploy/Dockerfile never leaves root"
    position, user = users[-1]
    assert user not in ("root", "0", "0:0")
    created = [
        n
        for n, (keyword, args) in enumerate(instructions)
        if keyword == "RUN" and re.search(rf"useradd .*--uid {re.escape(user)}\b", args)
    ]
    assert created and created[0] < position, f"USER {user} is never created with useradd"
    cmd = max(n for n, (keyword, _) in enumerate(instructions) if keyword == "CMD")
    assert position < cmd


def test_the_image_installs_the_lockfile_with_hashes_and_nothing_unpinned():
    runs = _runs()
    assert any("pip install --require-hashes -r /app/requirements.lock" in run for run in runs), (
        "the lockfile must be installed in hash-checking mode"
    )
    # diagpro itself is installed without resolving its dependencies again.
    own = [run for run in runs if "pip install" in run and "requirements.lock" not in run]
    assert own and all("--no-deps" in run for run in own)


def test_every_file_the_image_copies_is_in_the_build_context():
    ignore = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    patterns = [line.strip() for line in ignore if line.strip() and not line.startswith("#")]
    assert patterns[0] == "*", ".dockerignore starts by leaving everything out"
    kept = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    for keyword, args in _instructions():
        if keyword == "COPY":
            *sources, _ = args.split()
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: no such file in the checkout"
                assert source.rstrip("/") in kept, f".dockerignore leaves out {source}"


def test_cloud_build_builds_this_dockerfile_from_the_repository_root():
    config = yaml.safe_load((ROOT / "deploy" / "cloudbuild.yaml").read_text(encoding="utf-8"))
    (step,) = config["steps"]
    assert step["args"][:3] == ["build", "-f", "deploy/Dockerfile"]
    assert step["args"][-1] == "."
    assert config["images"] == ["${_IMAGE}"]


def test_hadolint_finds_nothing():
    result = subprocess.run(
        [str(HADOLINT), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


# -- the lockfile --------------------------------------------------------------------------------


def _locked() -> dict[str, tuple[Version, list[str]]]:
    """name -> (pinned version, sha256 hashes) of deploy/requirements.lock."""
    text = LOCK.read_text(encoding="utf-8")
    entries: dict[str, tuple[Version, list[str]]] = {}
    for block in re.split(r"\n(?=\S)", text):
        match = re.match(r"([A-Za-z0-9_.\-]+)==(\S+)", block)
        if match:
            hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})", block)
            entries[canonicalize_name(match.group(1))] = (Version(match.group(2)), hashes)
    return entries


def _runtime_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(line) for line in project["dependencies"]]


def _image_environment() -> dict[str, str]:
    env = dict(default_environment())
    env.update(
        python_version=IMAGE_PYTHON,
        python_full_version=IMAGE_PYTHON + ".0",
        sys_platform="linux",
        platform_system="Linux",
        platform_machine="x86_64",
        os_name="posix",
        implementation_name="cpython",
        platform_python_implementation="CPython",
    )
    return env


def test_the_lockfile_pins_every_runtime_dependency_with_hashes():
    locked = _locked()
    for requirement in _runtime_requirements():
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement.name} is a dependency but not locked: make lock"
        version, _ = locked[name]
        assert version in requirement.specifier, (
            f"{requirement.name}=={version} in the lock is outside pyproject.toml's "
            f"{requirement.specifier}: make lock"
        )
    unhashed = sorted(name for name, (_, hashes) in locked.items() if not hashes)
    assert not unhashed, f"locked without a hash: {unhashed}"


def test_the_lockfile_holds_every_dependency_of_a_dependency():
    """The whole tree, as the installed packages declare it for the image's Python and platform:
    pip's hash-checking mode refuses to install anything the lock does not name."""
    locked = _locked()
    env = _image_environment()
    missing: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()
    # (requirement, who wants it, the extras the wanting package was asked for)
    todo = [(r, "pyproject.toml", {""}) for r in _runtime_requirements()]
    while todo:
        requirement, wanted_by, extras = todo.pop()
        name = canonicalize_name(requirement.name)
        marker = requirement.marker
        if marker and not any(marker.evaluate({**env, "extra": e}) for e in extras):
            continue
        if name not in locked:
            missing[name] = wanted_by
            continue
        # A package asked for with extras (google-api-core[grpc]) brings their dependencies too.
        asked = {"", *requirement.extras}
        if all((name, extra) in seen for extra in asked):
            continue
        seen.update((name, extra) for extra in asked)
        for line in metadata.requires(requirement.name) or []:
            todo.append((Requirement(line), requirement.name, asked))
    assert not missing, "not in deploy/requirements.lock (run make lock): " + json.dumps(missing)

"""The README and the architecture notes say only what exists, and everything that exists is in
the README: settings (from their declarations), CLI commands (from the argparse parser), HTTP
routes (from the Litestar app) and make targets (from the Makefile)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest
from dependency_injector import providers

from diagpro.config import load_settings, with_local_secrets
from diagpro.config.declarations import SETTINGS
from diagpro.config.table import BEGIN, END, settings_table
from diagpro.container import Container, use_memory_adapters
from diagpro.entrypoints import cli
from diagpro.entrypoints.http.app import create_app

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
ARCHITECTURE = ROOT / "docs" / "architecture.md"

# An environment variable named in prose: the prefixes diagpro's settings use.
_ENV_TOKEN = re.compile(
    r"\b(?:DIAGPRO|STRIPE|GCP|VAI|REPORT|PUBSUB|FIRESTORE)_[A-Z0-9_]*[A-Z0-9]\b"
)
# Error codes share the shape (REPORT_NOT_FOUND); they are the API's, not settings.
_ERROR_CODE = re.compile(r'(?:\bcode = |ApiError\(\s*\d+,\s*)"([A-Z][A-Z_]+)"')
_FENCED = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
_INLINE = re.compile(r"`([^`]+)`")
_COMMAND = re.compile(r"(?:^|[\s/])diagpro\s+([a-z][a-z0-9-]*)")
_MAKE = re.compile(r"(?:^|\s)make\s+([a-z][a-z0-9_-]*)")
_PARAM = re.compile(r"\{[^}]*\}|<[^>]*>")


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _code(markdown: str) -> list[str]:
    """Every fenced block and inline code span: where commands and paths are written."""
    blocks = _FENCED.findall(markdown)
    prose = _FENCED.sub("", markdown)
    return blocks + _INLINE.findall(prose)


def _section(markdown: str, title: str) -> str:
    start = markdown.index(f"\n## {title}\n")
    end = markdown.find("\n## ", start + 1)
    return markdown[start : end if end >= 0 else None]


def _error_codes() -> set[str]:
    sources = (ROOT / "src" / "diagpro").rglob("*.py")
    return {code for path in sources for code in _ERROR_CODE.findall(_text(path))}


def _line_of(markdown: str, needle: str) -> int:
    return markdown[: markdown.index(needle)].count("\n") + 1


# -- settings ------------------------------------------------------------------------------------


def test_the_readme_settings_table_is_the_generated_one():
    readme = _text(README)
    assert BEGIN in readme and END in readme, (
        f"README.md lost its settings markers; put back\n{BEGIN}\n{END}\nin its Configuration "
        "section and run: diagpro settings --readme README.md"
    )
    documented = readme[readme.index(BEGIN) + len(BEGIN) : readme.index(END)].strip()
    assert documented == settings_table().strip(), (
        "README.md's settings table differs from src/diagpro/config/declarations.py; "
        "regenerate it with: diagpro settings --readme README.md"
    )


@pytest.mark.parametrize("doc", [README, ARCHITECTURE], ids=lambda p: p.name)
def test_every_documented_variable_is_declared(doc):
    text = _text(doc)
    declared = {setting.env for setting in SETTINGS}
    named = set(_ENV_TOKEN.findall(text)) - _error_codes()
    assert "GCP_PROJECT" in named or doc != README  # the pattern still finds what is there
    unknown = sorted(named - declared)
    assert not unknown, "; ".join(
        f"{doc.relative_to(ROOT)} line {_line_of(text, name)} names {name}, which no setting in "
        "src/diagpro/config/declarations.py declares"
        for name in unknown
    )


# -- CLI commands --------------------------------------------------------------------------------


def _subcommands() -> set[str]:
    actions = cli._parser()._subparsers._group_actions  # type: ignore[union-attr]
    return {
        name
        for action in actions
        if isinstance(action, argparse._SubParsersAction)
        for name in action.choices
    }


def test_every_cli_command_is_in_the_readme_and_every_one_named_there_exists():
    readme = _text(README)
    mentioned = {name for code in _code(readme) for name in _COMMAND.findall(code)}
    commands = _subcommands()
    missing = sorted(commands - mentioned)
    unknown = sorted(mentioned - commands)
    assert not missing, (
        "README.md never shows "
        + ", ".join(f"`diagpro {name}`" for name in missing)
        + ", defined in src/diagpro/entrypoints/cli.py: document each with one line"
    )
    assert not unknown, (
        "README.md shows "
        + ", ".join(f"`diagpro {name}`" for name in unknown)
        + f", but src/diagpro/entrypoints/cli.py has no such command (it has {sorted(commands)})"
    )


# -- HTTP routes ---------------------------------------------------------------------------------


def _normalised(path: str) -> str:
    return _PARAM.sub("{…}", path.split("?", 1)[0]).rstrip(".,;:)")


def _routes(tmp_path: Path) -> set[str]:
    container = Container()
    settings = with_local_secrets(load_settings({"DIAGPRO_DATA_DIR": str(tmp_path)}))
    container.settings.override(providers.Object(settings))
    app = create_app(use_memory_adapters(container), start_worker=False)
    # Litestar's OpenAPI plugin serves its own pages under the schema path: documenting the
    # schema path covers them.
    schema = app.openapi_config.path if app.openapi_config else None
    return {
        _normalised(route.path)
        for route in app.routes
        if not (schema and route.path.startswith(schema + "/"))
    }


def _documented_paths(markdown: str) -> set[str]:
    return {
        _normalised(word)
        for code in _code(markdown)
        for word in code.split()
        if word.startswith("/")
    }


def test_every_route_is_in_the_readme(tmp_path):
    undocumented = sorted(_routes(tmp_path) - _documented_paths(_text(README)))
    assert not undocumented, (
        "README.md does not mention these routes of create_app(): "
        + ", ".join(undocumented)
        + "; add each to its HTTP section with one line on what it does"
    )


def test_every_path_in_the_readmes_http_section_is_a_route(tmp_path):
    section = _section(_text(README), "The HTTP service")
    unknown = sorted(_documented_paths(section) - _routes(tmp_path))
    assert not unknown, (
        "README.md's HTTP section documents "
        + ", ".join(unknown)
        + ", which create_app() does not serve (path parameters compared as {…})"
    )


# -- make targets --------------------------------------------------------------------------------


def test_every_make_target_the_readme_names_exists():
    targets = set(re.findall(r"^([A-Za-z0-9][\w.-]*)\s*:(?!=)", _text(ROOT / "Makefile"), re.M))
    mentioned = {name for code in _code(_text(README)) for name in _MAKE.findall(code)}
    assert "test" in mentioned  # the pattern still finds what is there
    unknown = sorted(mentioned - targets)
    assert not unknown, (
        "README.md shows "
        + ", ".join(f"`make {name}`" for name in unknown)
        + f", but the Makefile has no such target (it has {sorted(targets)})"
    )

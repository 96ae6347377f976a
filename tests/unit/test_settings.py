"""Each setting is declared once; loading reads and validates without writing anything; the
local secrets are made once, by an explicit step, and reused by every later process."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from diagpro.config import (
    ConfigError,
    LocalSecrets,
    load_settings,
    settings_table,
    with_local_secrets,
)
from diagpro.config.declarations import SETTINGS
from diagpro.config.values import Values
from diagpro.container import Container
from diagpro.entrypoints import cli

GIVEN_SECRETS = {
    "DIAGPRO_LOCAL_WEBHOOK_SECRET": "whsec_given_in_the_environment",
    "DIAGPRO_LINK_SECRET": "a-link-secret-given-in-the-environment",
    "DIAGPRO_API_KEYS": "dpk_given_in_the_environment",
}


def problems(tmp_path, **env):
    with pytest.raises(ConfigError) as caught:
        load_settings({"DIAGPRO_DATA_DIR": str(tmp_path), **env})
    return str(caught.value)


# -- the declarations ----------------------------------------------------------------------------


def test_each_variable_is_declared_once_with_a_meaning_and_a_default_its_parser_accepts():
    names = [setting.env for setting in SETTINGS]
    assert len(names) == len(set(names))
    for setting in SETTINGS:
        assert setting.doc.strip(), setting.env
        if setting.default:
            setting.kind.parse(setting.default)  # raises if a default could never be given
        else:
            assert setting.kind.absent is not None, f"{setting.env} has no value when unset"


def test_the_defaults_are_the_declared_ones(tmp_path):
    settings = load_settings({"DIAGPRO_DATA_DIR": str(tmp_path)})
    assert (settings.price_cents, settings.currency) == (499, "usd")
    assert (settings.job_max_attempts, settings.job_lease_seconds) == (5, 30.0)
    assert (settings.submissions_per_minute, settings.trusted_proxies) == (20, 0)
    assert settings.environment == "development"
    assert settings.public_base_url == "http://127.0.0.1:8000"
    assert load_settings({}).data_dir == Path.cwd() / "var"


# -- kinds ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["DIAGPRO_JOB_MAX_ATTEMPTS", "DIAGPRO_PRICE_CENTS", "DIAGPRO_TRUSTED_PROXIES"],
)
def test_a_whole_number_given_a_fraction_is_refused_by_name(tmp_path, name):
    assert f"{name}='5.5' must be a whole number" in problems(tmp_path, **{name: "5.5"})


def test_a_whole_number_written_with_a_zero_fraction_is_that_number(tmp_path):
    settings = load_settings({"DIAGPRO_DATA_DIR": str(tmp_path), "DIAGPRO_JOB_MAX_ATTEMPTS": "3.0"})
    assert settings.job_max_attempts == 3


@pytest.mark.parametrize("raw", ["abc", "nan", "inf"])
def test_a_number_that_is_not_one_is_refused(tmp_path, raw):
    assert f"DIAGPRO_JOB_LEASE_SECONDS={raw!r} is not a number" in problems(
        tmp_path, DIAGPRO_JOB_LEASE_SECONDS=raw
    )


def test_every_problem_is_named_at_once_and_no_secret_is_repeated(tmp_path):
    message = problems(
        tmp_path,
        DIAGPRO_PRICE_CENTS="10",
        DIAGPRO_CURRENCY="dollars",
        DIAGPRO_PUBLIC_BASE_URL="ftp://example.com",
        DIAGPRO_API_KEYS="dpk_long_enough_key,SECRETVALUE",
    )
    assert message.startswith("Configuration is not usable: ")
    assert "DIAGPRO_PRICE_CENTS='10' must be at least 50" in message
    assert "DIAGPRO_CURRENCY='dollars' must be a 3-letter ISO code" in message
    assert "DIAGPRO_PUBLIC_BASE_URL='ftp://example.com' must be an http(s) URL" in message
    assert "DIAGPRO_API_KEYS: each key must be at least 16 characters long" in message
    assert "SECRETVALUE" not in message


# -- production mode -----------------------------------------------------------------------------

TEST_ONLY = [setting.env for setting in SETTINGS if setting.test_only]


def test_the_test_only_switches_are_the_stubs_and_the_emulators():
    assert set(TEST_ONLY) == {
        "DIAGPRO_STRIPE_API_BASE",
        "DIAGPRO_VERTEX_BASE_URL",
        "FIRESTORE_EMULATOR_HOST",
        "PUBSUB_EMULATOR_HOST",
        "STORAGE_EMULATOR_HOST",
    }


@pytest.mark.parametrize("name", TEST_ONLY)
def test_production_refuses_each_test_only_switch_by_name(tmp_path, name):
    value = "http://127.0.0.1:9"
    message = problems(tmp_path, DIAGPRO_ENVIRONMENT="production", **{name: value})
    assert f"{name} is a test-only switch and is refused when DIAGPRO_ENVIRONMENT=production" in (
        message
    )
    # The same switch is fine while developing (a Vertex stub needs its project, as always).
    env = {
        "DIAGPRO_DATA_DIR": str(tmp_path),
        name: value,
        "GCP_PROJECT": "demo-p",
        "DIAGPRO_ANALYZER": "offline",
        "DIAGPRO_PUBLIC_BASE_URL": "https://diagpro.example.com",
        "DIAGPRO_API_KEYS": "dpk_settings_test_key_01",
    }
    assert load_settings(env).environment == "development"


def test_production_without_test_only_switches_loads(tmp_path):
    env = {"DIAGPRO_DATA_DIR": str(tmp_path), "DIAGPRO_ENVIRONMENT": "Production"}
    assert load_settings(env).environment == "production"


def test_an_unknown_environment_is_refused(tmp_path):
    assert "DIAGPRO_ENVIRONMENT='staging' must be development or production" in problems(
        tmp_path, DIAGPRO_ENVIRONMENT="staging"
    )


# -- loading only reads; the local secrets are an explicit step ---------------------------------


def test_loading_writes_nothing(tmp_path):
    data = tmp_path / "fresh"
    settings = load_settings({"DIAGPRO_DATA_DIR": str(data)})
    assert not data.exists()
    assert (settings.link_secret, settings.local_webhook_secret, settings.api_keys) == ("", "", ())


def test_the_local_secrets_are_made_once_private_and_reused(tmp_path):
    data = tmp_path / "fresh"
    first = with_local_secrets(load_settings({"DIAGPRO_DATA_DIR": str(data)}))
    kept = data / "secrets.json"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert first.api_key_source == str(kept)
    assert first.link_secret and first.local_webhook_secret.startswith("whsec_local_")
    # Another process (a later `diagpro status`, a worker) loads the same secrets: links it makes
    # are valid for the server, and the other way round.
    again = with_local_secrets(load_settings({"DIAGPRO_DATA_DIR": str(data)}))
    assert (again.link_secret, again.local_webhook_secret, again.api_keys) == (
        first.link_secret,
        first.local_webhook_secret,
        first.api_keys,
    )
    assert [p.name for p in data.iterdir()] == ["secrets.json"]  # no temporary file left


def test_secrets_already_kept_are_never_replaced(tmp_path):
    kept = LocalSecrets(tmp_path).ensure()
    assert LocalSecrets(tmp_path).ensure() == kept


def test_secrets_given_in_the_environment_win_and_nothing_is_written(tmp_path):
    data = tmp_path / "fresh"
    settings = with_local_secrets(load_settings({"DIAGPRO_DATA_DIR": str(data), **GIVEN_SECRETS}))
    assert settings.link_secret == GIVEN_SECRETS["DIAGPRO_LINK_SECRET"]
    assert settings.api_keys == (GIVEN_SECRETS["DIAGPRO_API_KEYS"],)
    assert settings.api_key_source == "DIAGPRO_API_KEYS"
    assert not data.exists()


def test_the_container_makes_the_local_secrets_from_the_process_environment(tmp_path, monkeypatch):
    for setting in SETTINGS:
        monkeypatch.delenv(setting.env, raising=False)
    monkeypatch.setenv("DIAGPRO_DATA_DIR", str(tmp_path / "fresh"))
    settings = Container().settings()
    assert settings.api_key_source == str(tmp_path / "fresh" / "secrets.json")
    assert settings.link_secret == LocalSecrets(tmp_path / "fresh").ensure().link_secret


# -- the table -----------------------------------------------------------------------------------


def test_the_table_has_a_row_per_setting_and_marks_the_test_only_ones():
    rows = settings_table().splitlines()[2:]
    assert [row.split(" | ")[0].strip("| `") for row in rows] == [s.env for s in SETTINGS]
    for row, setting in zip(rows, SETTINGS, strict=True):
        assert ("**test-only:**" in row) == setting.test_only


def test_diagpro_settings_prints_the_table_and_rewrites_a_readme(tmp_path, capsys):
    assert cli.main(["settings"]) == 0
    assert capsys.readouterr().out == settings_table()

    from diagpro.config.table import BEGIN, END

    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{BEGIN}\nold table\n{END}\n\nafter\n")
    assert cli.main(["settings", "--readme", str(readme)]) == 0
    assert readme.read_text() == f"# x\n\n{BEGIN}\n{settings_table()}{END}\n\nafter\n"

    readme.write_text("# no markers\n")
    assert cli.main(["settings", "--readme", str(readme)]) == 2
    assert "settings:begin" in capsys.readouterr().err


def test_values_know_which_settings_the_environment_gives():
    values = Values({"VAI_LOCATION": "  ", "VAI_MODEL": "gemini-3.5-flash"})
    assert {s.env for s in SETTINGS if values.given(s)} == {"VAI_MODEL"}

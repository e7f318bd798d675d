"""Settings: sources, secrets kept out of printed text, invalid values."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from kerve.v1 import kerve_pb2
from kerve_server.settings import (
    SECRET_FIELDS,
    SECRET_MASK,
    Settings,
    changed_settings,
    describe_invalid,
    load_settings,
)
from kerve_server.transport.auth import PREDICT_METHODS

ADMIN = "admin-token-for-settings-tests"
PREDICT = "predict-token-for-settings-tests"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove the caller's KERVE_* variables, which would change the defaults."""
    for variable in [name for name in os.environ if name.startswith("KERVE_")]:
        monkeypatch.delenv(variable)


def test_flag_beats_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KERVE_PORT", "1234")
    monkeypatch.setenv("KERVE_LOG_FORMAT", "json")

    from_flag = load_settings(["--port", "4321", "--log-format", "text"])
    from_variable = load_settings([])

    assert from_flag.port == 4321
    assert from_flag.log_format == "text"
    assert from_variable.port == 1234
    assert from_variable.log_format == "json"


def test_every_field_documented() -> None:
    for name, field in Settings.model_fields.items():
        assert field.description, f"setting {name} has no description"
        assert field.description.strip() == field.description


def test_secret_fields_complete() -> None:
    for name, field in Settings.model_fields.items():
        looks_secret = (
            "token" in name or "key" in name or "SecretStr" in str(field.annotation)
        )
        assert (name in SECRET_FIELDS) == looks_secret, name


def test_defaults_unchanged() -> None:
    assert changed_settings(Settings()) == {}


def test_changed_settings_mask_secrets(tmp_path: Path) -> None:
    token_file = tmp_path / "predict"
    token_file.write_text(PREDICT)
    settings = Settings(
        port=0,
        log_format="json",
        admin_token=SecretStr(ADMIN),
        predict_token_file=token_file,
        tls_cert_file=tmp_path / "server.pem",
        tls_key_file=tmp_path / "server.key",
    )

    changed = changed_settings(settings)
    text = repr(changed)

    assert changed["port"] == "0"
    assert changed["log_format"] == "json"
    assert changed["admin_token"] == SECRET_MASK
    assert changed["predict_token_file"] == SECRET_MASK
    assert changed["tls_key_file"] == SECRET_MASK
    assert changed["tls_cert_file"] == str(tmp_path / "server.pem")
    assert ADMIN not in text
    assert str(token_file) not in text
    assert "server.key" not in text


def test_invalid_value_named() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(port=70000)

    lines = describe_invalid(caught.value)

    assert len(lines) == 1
    assert lines[0].startswith("invalid setting port (--port, KERVE_PORT): ")
    assert lines[0].endswith("received 70000")


def test_invalid_secret_hidden() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(admin_token=SecretStr(ADMIN), predict_token=SecretStr(ADMIN))

    lines = describe_invalid(caught.value)

    assert len(lines) == 1
    assert "the predict token must differ from the admin token" in lines[0]
    assert ADMIN not in lines[0]


FLOAT_SETTINGS = sorted(
    name for name, field in Settings.model_fields.items() if field.annotation is float
)


def test_float_settings_found() -> None:
    assert "extrapolation_margin" in FLOAT_SETTINGS
    assert "grace_period_seconds" in FLOAT_SETTINGS


@pytest.mark.parametrize("value", ["inf", "-inf", "nan"])
@pytest.mark.parametrize("name", FLOAT_SETTINGS)
def test_float_setting_rejects_non_finite(name: str, value: str) -> None:
    flag = "--" + name.replace("_", "-")

    with pytest.raises(ValidationError) as caught:
        load_settings([f"{flag}={value}"])
    lines = describe_invalid(caught.value)

    assert len(lines) == 1
    assert lines[0].startswith(f"invalid setting {name} ({flag}, ")
    assert "finite number" in lines[0]


@pytest.mark.parametrize("value", ["", " ", "\t\n"])
@pytest.mark.parametrize("name", ["admin_token", "predict_token"])
def test_empty_token_rejected(name: str, value: str) -> None:
    tokens = {"admin_token": SecretStr(ADMIN), name: SecretStr(value)}

    with pytest.raises(ValidationError) as caught:
        Settings(**tokens)  # type: ignore[arg-type]
    lines = describe_invalid(caught.value)

    assert len(lines) == 1
    assert lines[0].startswith(f"invalid setting {name} (")
    assert "empty or only whitespace" in lines[0]
    assert ADMIN not in lines[0]


def test_empty_token_variable_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KERVE_ADMIN_TOKEN", "")

    with pytest.raises(ValidationError) as caught:
        load_settings([])

    assert "empty or only whitespace" in describe_invalid(caught.value)[0]


def test_token_flag_stripped() -> None:
    settings = Settings(admin_token=SecretStr(f" {ADMIN}\n"))

    assert settings.resolved_tokens() == (ADMIN, None)


def test_predict_token_help_lists_methods() -> None:
    description = Settings.model_fields["predict_token"].description or ""
    mentioned = {
        method.name
        for method in kerve_pb2.DESCRIPTOR.services_by_name["Models"].methods
        if re.search(rf"\b{method.name}\b", description)
    }

    assert mentioned == {name.rsplit("/", 1)[-1] for name in PREDICT_METHODS}

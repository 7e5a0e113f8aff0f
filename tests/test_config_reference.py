"""docs/configuration.md is generated from the settings classes and documents every setting truthfully."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr, TypeAdapter
from pydantic_settings import EnvSettingsSource

from outreach.cli import run
from outreach.config.reference import Setting, env_value, render, settings
from outreach.settings import Settings, load_settings

REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def test_the_committed_reference_is_what_the_settings_generate() -> None:
    assert REFERENCE.read_text(encoding="utf-8") == render(), (
        "docs/configuration.md is out of date: run `outreach config reference > docs/configuration.md`"
    )


def test_the_command_prints_the_reference(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["config", "reference"]) == 0
    assert capsys.readouterr().out == render()


def _leaf_count(model: type[BaseModel]) -> int:
    total = 0
    for field in model.model_fields.values():
        annotation = field.annotation
        nested = isinstance(annotation, type) and issubclass(annotation, BaseModel)
        total += _leaf_count(annotation) if nested else 1  # type: ignore[arg-type]
    return total


def test_every_setting_nested_ones_too_is_documented_with_an_example() -> None:
    documented = list(settings())
    assert len(documented) == _leaf_count(Settings)
    assert {"database_url", "twilio.account_sid", "sending.window_start", "templates.max_segments"} <= {
        setting.name for setting in documented
    }
    text = render()
    for setting in documented:
        assert setting.description, f"{setting.name} has no Field description"
        assert setting.example is not None, f"{setting.name}: an empty default needs Field(examples=[...])"
        assert f"### `{setting.name}`" in text and f"`{setting.env_var}`" in text


def _comparable(setting: Setting, value: Any) -> Any:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, list) and value and isinstance(value[0], SecretStr):
        return [item.get_secret_value() for item in value]
    assert setting.field.annotation is not None
    return TypeAdapter(setting.field.annotation).dump_python(value, mode="json")


@pytest.mark.parametrize("setting", list(settings()), ids=lambda setting: setting.name)
def test_the_documented_variable_and_example_set_the_setting(
    setting: Setting, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    example = setting.example
    if setting.name.endswith("_file"):  # a key file must exist and be private to be accepted
        example = str(tmp_path / "secret")
        Path(example).write_text("secret-from-file\n", encoding="utf-8")
        os.chmod(example, 0o600)
    monkeypatch.setenv(setting.env_var, env_value(example))
    read: Any = EnvSettingsSource(Settings)()  # what the environment alone supplies, even a value equal to the default
    for part in setting.path:
        read = read[part]
    loaded: Any = load_settings()
    for part in setting.path:
        loaded = getattr(loaded, part)
    assert setting.field.annotation is not None
    expected = TypeAdapter(setting.field.annotation).validate_python(example)
    assert _comparable(setting, loaded) == _comparable(setting, expected)

"""One validated settings object: the README's TOML file loads, the environment overrides it, and bad
values are refused with the setting named; keys never show."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from freshrec.cli import cli
from freshrec.service.settings import Scope, ServiceSettings

README = Path(__file__).parents[2] / "README.md"


def readme_toml(tmp_path: Path) -> Path:
    path = tmp_path / "freshrec.toml"
    path.write_text(re.findall(r"```toml\n(.*?)```", README.read_text(), flags=re.DOTALL)[0])
    return path


def test_file_then_environment_then_arguments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = ServiceSettings.load(readme_toml(tmp_path))
    assert settings.port == 8080 and settings.api_keys[0].scopes == {Scope.READ, Scope.WRITE}
    assert "use `openssl" not in repr(settings) and "use `openssl" not in str(settings.model_dump())
    monkeypatch.setenv("FRESHREC_PORT", "9090")
    monkeypatch.setenv("FRESHREC_BATCHING", "false")
    settings = ServiceSettings.load(readme_toml(tmp_path), data_dir=tmp_path)
    assert (settings.port, settings.batching, settings.data_dir) == (9090, False, tmp_path)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"port": 70_000}, "port"),
        ({"api_keys": []}, "api_keys"),
        ({"api_keys": [{"name": "a", "key": "short", "scopes": ["read"]}]}, "api_keys.0.key"),
        ({"api_keys": [{"name": "a", "key": "k" * 30, "scopes": ["root"]}]}, "api_keys.0.scopes.0"),
        ({"max_body_bytes": 10}, "max_body_bytes"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_settings_name_the_field(change: dict[str, object], field: str) -> None:
    values: dict[str, object] = {"checkpoint": "m.pt", "api_keys": [{"name": "a", "key": "k" * 30, "scopes": ["read"]}]}
    with pytest.raises(ValidationError) as error:
        ServiceSettings(**{**values, **change})  # type: ignore[arg-type]
    assert field in [".".join(map(str, e["loc"])) for e in error.value.errors()]


def test_serve_refuses_bad_settings_without_printing_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "s" * 30
    monkeypatch.setenv("FRESHREC_API_KEYS", json.dumps([{"name": "a", "key": secret, "scopes": ["read"]}]))
    result = CliRunner().invoke(cli, ["serve", "--checkpoint", str(tmp_path / "missing.pt"), "--port", "99999"])
    assert result.exit_code == 2 and "port" in result.output and secret not in result.output
    result = CliRunner().invoke(cli, ["serve", "--checkpoint", str(tmp_path / "missing.pt")])
    assert result.exit_code == 2 and "missing.pt is not a file" in result.output

"""The service's one validated settings object: a TOML file, overridden by ``FRESHREC_*`` variables.

Precedence (highest first): arguments given in code, environment variables, the settings file, the
defaults below. Nested values in the environment are JSON, e.g.
``FRESHREC_API_KEYS='[{"name": "app", "key": "…", "scopes": ["read", "write"]}]'``.

>>> s = ServiceSettings(checkpoint="m.pt", api_keys=[{"name": "ops", "key": "k" * 32, "scopes": ["admin"]}])
>>> s.port, s.api_keys[0].key  # keys never print
(8000, SecretStr('**********'))
"""

from __future__ import annotations

from contextvars import ContextVar
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

_settings_file: ContextVar[Path | None] = ContextVar("freshrec_settings_file", default=None)


class Scope(StrEnum):
    """What a key may do. Scopes are independent: an admin key can't post events unless it also has write."""

    READ = "read"  # recommendations and similar items
    WRITE = "write"  # events
    ADMIN = "admin"  # items (add, update, remove) and forgetting users


class ApiKey(BaseModel):
    """One client's key. ``name`` is what logs and metrics show; the key itself never appears."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
    key: Annotated[SecretStr, Field(min_length=24, description="at least 24 characters, e.g. `openssl rand -hex 32`")]
    scopes: Annotated[frozenset[Scope], Field(min_length=1)]


class ServiceSettings(BaseSettings):
    """Everything ``freshrec serve`` needs; invalid values stop the start with the field named."""

    model_config = SettingsConfigDict(env_prefix="FRESHREC_", extra="forbid", validate_default=True)

    checkpoint: Path = Field(description="trained model checkpoint (freshrec train --out)")
    data_dir: Path = Field(Path("freshrec-data"), description="event log and state snapshots (created if missing)")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535, description="0: any free port")
    api_keys: list[ApiKey] = Field(min_length=1, description="clients' keys with their scopes")
    state_url: str = Field("embedded", description="online-state backend (see freshrec.engine.backends)")
    auto_register_items: bool = Field(False, description="events naming unknown items register them (else 422)")
    snapshot_every: int = Field(50_000, ge=0, description="log entries between state snapshots (0: never)")
    max_body_bytes: int = Field(1_048_576, ge=1_024, description="larger request bodies get 413")
    max_batch_events: int = Field(1_000, ge=1, description="more events in one request get 413")
    max_batch_items: int = Field(1_000, ge=1, description="more items in one request get 413")
    batching: bool = Field(True, description="micro-batch concurrent recommendation requests")
    batch_max_size: int = Field(64, ge=1, le=4_096, description="most requests answered by one engine call")
    batch_max_wait_ms: float = Field(
        0.0,
        ge=0.0,
        le=1_000.0,
        description="extra wait for company (0: none; batches still form while the engine is busy)",
    )
    fast_path: bool = Field(
        True,
        description="answer valid recommendation requests and single events below the framework (same answers; "
        "off: all through FastAPI)",
    )
    graceful_timeout_s: int = Field(10, ge=1, description="on SIGTERM: time left to in-flight requests")
    online_training: bool = Field(
        False, description="fine-tune the model on the stream in this process and publish versions (GET /v1/models)"
    )
    online_every_events: int = Field(500, ge=1, description="new interactions between online updates")
    access_log: bool = Field(False, description="uvicorn access log (off: its lines carry user ids in paths)")

    @field_validator("api_keys")
    @classmethod
    def _distinct(cls, keys: list[ApiKey]) -> list[ApiKey]:
        if len({k.name for k in keys}) < len(keys):
            raise ValueError("key names must be distinct")
        if len({k.key.get_secret_value() for k in keys}) < len(keys):
            raise ValueError("keys must be distinct")
        return keys

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        file = _settings_file.get()
        if file is None:
            return init_settings, env_settings
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=file)

    @classmethod
    def load(cls, file: Path | None = None, **overrides: object) -> ServiceSettings:
        """Settings from ``file`` (TOML, optional), then the environment, then ``overrides``."""
        if file is not None and not file.is_file():
            raise FileNotFoundError(f"settings file {file} does not exist")
        token = _settings_file.set(file)
        try:
            return cls(**overrides)  # type: ignore[arg-type]
        finally:
            _settings_file.reset(token)

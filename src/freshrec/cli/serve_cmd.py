"""``freshrec serve`` (the HTTP API) and ``freshrec openapi`` (its spec, as committed in docs/)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from pydantic import ValidationError


@click.command()
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path),
    help="TOML settings file; FRESHREC_* environment variables override it.",
)
@click.option("--checkpoint", type=click.Path(path_type=Path), help="Overrides the settings' checkpoint.")
@click.option("--data-dir", type=click.Path(path_type=Path), help="Overrides the settings' data_dir.")
@click.option("--host", help="Overrides the settings' host.")
@click.option("--port", type=int, help="Overrides the settings' port.")
@click.option("--no-batching", is_flag=True, help="Answer each recommendation request alone (for comparison).")
def serve(config_file: Path | None, checkpoint: Path | None, data_dir: Path | None, host: str | None,
          port: int | None, no_batching: bool) -> None:  # fmt: skip
    """Serve the real-time engine over HTTP (FastAPI on uvicorn) until SIGTERM or Ctrl-C.

    Settings come from --config, then FRESHREC_* variables, then these options; see the README's
    "Service" section for every setting. API keys are never printed."""
    from freshrec.service.server import serve as run  # imports torch and uvicorn: only when serving
    from freshrec.service.settings import ServiceSettings

    overrides: dict[str, object] = {
        name: value
        for name, value in {"checkpoint": checkpoint, "data_dir": data_dir, "host": host, "port": port}.items()
        if value is not None
    }
    if no_batching:
        overrides["batching"] = False
    try:
        settings = ServiceSettings.load(config_file, **overrides)
    except FileNotFoundError as error:
        raise click.UsageError(str(error)) from None
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in error.errors())
        raise click.UsageError(f"invalid settings: {problems}") from None
    if not settings.checkpoint.is_file():
        raise click.UsageError(f"checkpoint: {settings.checkpoint} is not a file (train one with `freshrec train`)")
    click.echo(f"freshrec: loading {settings.checkpoint} over {settings.data_dir} ...", err=True)
    run(settings)


@click.command()
@click.option("--out", type=click.Path(path_type=Path), default=Path("docs/openapi.json"), show_default=True)
def openapi(out: Path) -> None:
    """Write the HTTP API's OpenAPI spec (the file committed in docs/ must equal it; a test checks)."""
    from freshrec.service.app import openapi_spec

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(openapi_spec(), indent=2, sort_keys=True) + "\n")
    click.echo(f"wrote {out}")

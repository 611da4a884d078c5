"""The ``freshrec`` command line."""

from __future__ import annotations

import click

from freshrec import __version__
from freshrec.cli.data_cmd import data
from freshrec.cli.demo_cmd import demo
from freshrec.cli.model_cmd import evaluate, recommend, train
from freshrec.cli.replay_cmd import replay
from freshrec.cli.serve_cmd import openapi, serve


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="freshrec")
def cli() -> None:
    """freshrec: fresh recommendations from a text-aware transformer.

    Start with `freshrec demo`: it fetches MovieLens-100k, trains the model and its
    baselines, evaluates them and writes a report folder.
    """


cli.add_command(data)
cli.add_command(train)
cli.add_command(evaluate)
cli.add_command(recommend)
cli.add_command(demo)
cli.add_command(replay)
cli.add_command(serve)
cli.add_command(openapi)


def main() -> None:
    cli()

"""Command-line flags from a config dataclass: one flag per field, its docstring as the help text.

Field docstrings (a string literal right after the field) become ``--help`` text, so the config's
documentation and the CLI's cannot drift apart. Tuples are comma-separated; booleans get
``--flag/--no-flag``; fields named in ``skip`` are not flags.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import itertools
import textwrap
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def field_docs(cls: type) -> dict[str, str]:
    """Field name -> the docstring under it in the class body."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs: dict[str, str] = {}
    for stmt, nxt in itertools.pairwise(body):
        if (
            isinstance(stmt, ast.AnnAssign)
            and isinstance(stmt.target, ast.Name)
            and isinstance(nxt, ast.Expr)
            and isinstance(nxt.value, ast.Constant)
            and isinstance(nxt.value.value, str)
        ):
            docs[stmt.target.id] = " ".join(nxt.value.value.split())
    return docs


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """The scripts' ``--help``: their module docstring as written, and every flag's default, except where a
    default would only mislead: a switch (``--no-progress`` is not "default: True"), a required flag, and an
    unset one (None or empty: its help says what leaving it out does)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        unset = action.default is None or (isinstance(action.default, str | tuple | list) and not action.default)
        if action.required or action.nargs == 0 or unset:
            return action.help
        return super()._get_help_string(action)


def parse_config(cls: type[T], argv: list[str] | None, description: str | None, skip: tuple[str, ...] = ()) -> T:
    """``cls(**flags)`` from ``argv`` (default ``sys.argv``); the dataclass validates the values, and a value it
    refuses ends the program as argparse's own errors do (its message after ``error:``, exit status 2)."""
    return parse_flags(cls, argv, description, skip)[0]


def parse_flags(
    cls: type[T], argv: list[str] | None, description: str | None, skip: tuple[str, ...] = ()
) -> tuple[T, frozenset[str]]:
    """``parse_config``, and the names of the fields whose flags ``argv`` gave (set to their default or not)."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    docs = field_docs(cls)
    for f in fields(cls):  # type: ignore[arg-type]
        if f.name in skip:
            continue
        flag = "--" + f.name.replace("_", "-")
        default: Any = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc,operator]
        shown = ",".join(default) if isinstance(default, tuple) else default  # as typed: comma-separated
        # An empty default (a path or list left unset) shows as none, not as "(default: )".
        help_text = f"{docs.get(f.name, '')} (default: {shown if shown != '' else 'none'})".replace("%", "%%")
        # Flags not given stay out of the namespace (SUPPRESS), so they are known; the dataclass fills its defaults.
        if isinstance(default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS, help=help_text)
        elif isinstance(default, tuple):
            parser.add_argument(
                flag, type=lambda s: tuple(x for x in s.split(",") if x), default=argparse.SUPPRESS, help=help_text
            )
        else:
            kind = Path if isinstance(default, Path) else type(default)
            parser.add_argument(flag, type=kind, default=argparse.SUPPRESS, help=help_text)
    args = vars(parser.parse_args(argv))
    try:
        return cls(**args), frozenset(args)
    except ValueError as e:  # the config's own check (ConfigError too): a usage error, not a traceback
        parser.error(str(e))

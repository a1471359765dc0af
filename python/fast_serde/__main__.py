"""Command line of fast-serde: ``fast-serde COMMAND ...`` or ``python -m fast_serde COMMAND ...``.

Each command is a module with ``main(argv: Sequence[str] | None) -> int`` that
parses its own arguments; it is imported only when run, so ``fast-serde --help``
works without the command's optional dependencies. To add a command, add an
entry to :data:`COMMANDS`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMANDS: dict[str, tuple[str, str]] = {
    "inspect": (
        "fast_serde.inspect_cli",
        "list the threads of a LangGraph checkpoint database, print a checkpoint as JSON, "
        "or a thread's history",
    ),
}
"""Command name -> (module with ``main(argv)``, one-line help)."""


def _version() -> str:
    """``fast-serde X.Y.Z (CPython 3.A.B)``: the installed distribution's version."""
    import fast_serde

    return f"fast-serde {fast_serde.__version__} ({sys.implementation.name} {sys.version.split()[0]})"


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch ``argv`` (default ``sys.argv[1:]``) to a command's ``main``.

    The arguments after the command name are passed on unparsed, so
    ``fast-serde inspect --help`` shows the command's own help. Returns the
    command's exit status; 2 on an unknown command (argparse) or if the
    command's module cannot be imported (e.g. a missing optional dependency).
    """
    parser = argparse.ArgumentParser(
        prog="fast-serde",
        description="fast-serde tools; run 'fast-serde COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, help_) in COMMANDS.items():
        # add_help=False: the command's own parser handles -h/--help.
        commands.add_parser(name, help=help_, add_help=False)
    args, rest = parser.parse_known_args(argv)

    module_name, _ = COMMANDS[args.command]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        print(
            f"fast-serde {args.command}: cannot import {exc.name or module_name} ({exc}); "
            "is the optional dependency installed?",
            file=sys.stderr,
        )
        return 2
    return module.main(rest)


if __name__ == "__main__":
    sys.exit(main())

"""`tito`: one argparse parser; every module in `tito.commands` registers its own subcommand."""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from . import commands
from .console import fail
from .project import TitoError


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("tinytorch-benchmarking")
    except metadata.PackageNotFoundError:
        return "unknown (not installed; pip install -e .)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tito", description="TinyTorch course tool")
    parser.add_argument("--version", action="version", version=f"tito {_version()}")
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        importlib.import_module(f"{commands.__name__}.{info.name}").register(subcommands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse exits 2 on bad usage and 0 on --help
        return int(exit_.code or 0)
    try:
        return int(args.run(args))
    except TitoError as error:
        fail(str(error))
        return error.exit_code
    except KeyboardInterrupt:
        fail("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())

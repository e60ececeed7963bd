"""Output for people (rich, on stdout; diagnostics on stderr) and for machines (--json)."""
from __future__ import annotations

import json
import sys

from rich.console import Console

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(data) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}", markup=True)

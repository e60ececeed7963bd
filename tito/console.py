"""Output for people (rich, on stdout; diagnostics on stderr) and for machines (--json)."""
from __future__ import annotations

import json
import sys

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table


class _Console(Console):
    """A rich console that never squeezes a table below its natural width.

    Rich fits a table into the terminal (or `$COLUMNS`) by shrinking its columns, and at 40 columns
    the numbers of a six-column table vanish altogether. A table is printed at its natural width
    instead: a narrow terminal wraps the lines, but no value is cut or dropped.
    """

    def print(self, *objects, **kwargs) -> None:
        tables = [o for o in objects if isinstance(o, Table)]
        if not tables:
            super().print(*objects, **kwargs)
            return
        unbounded = self.options.update(max_width=100_000)
        natural = max(Measurement.get(self, unbounded, table).maximum for table in tables)
        # print(width=...) cannot exceed the console's width, so widen the console for this call only.
        detected = self._width  # None: follow the terminal / $COLUMNS again afterwards
        self.width = max(self.width, natural)
        try:
            super().print(*objects, **kwargs)
        finally:
            self._width = detected


out = _Console(highlight=False, soft_wrap=True)
err = _Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(data) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}", markup=True)

"""One problem the lint found: where (file:line, cell), what is wrong, and the fix."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Finding:
    path: Path
    cell: int | None  # 1-based, counting every cell; None for findings outside the module source
    line: int | None  # 1-based line in `path`
    message: str
    fix: str
    rule: str = ""  # the rule's name (see the table in tito/lint/__init__.py)

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        cell = f" cell {self.cell}:" if self.cell is not None else ""
        return f"{where}:{cell} {self.message}; fix: {self.fix}"

    def as_dict(self) -> dict:
        return {"path": str(self.path), "line": self.line, "cell": self.cell, "rule": self.rule,
                "message": self.message, "fix": self.fix}

"""Course progress, kept in one file: `.tito/progress.json` at the project root."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from .fileio import write_json_atomic
from .project import TitoError

SCHEMA = 1


def progress_path(root: Path) -> Path:
    return root / ".tito" / "progress.json"


def load_progress(root: Path) -> dict:
    path = progress_path(root)
    if not path.is_file():
        return {"schema": SCHEMA, "modules": {}}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise TitoError(f"{path} is not valid JSON ({error}); delete it to start the record afresh", 1) from error
    if not isinstance(data, dict) or data.get("schema") != SCHEMA or not isinstance(data.get("modules"), dict):
        raise TitoError(f"{path} is not a tito progress file of schema {SCHEMA}; move it away and rerun", 1)
    return data


def record_completion(root: Path, module_key: str, details: dict) -> None:
    data = load_progress(root)
    data["modules"][module_key] = {
        "completed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **details,
    }
    write_json_atomic(progress_path(root), data)

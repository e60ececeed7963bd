"""A throwaway copy of the project, so tito can be run against broken modules without touching ours."""
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path, monkeypatch):
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(REPO / "settings.ini", root / "settings.ini")
    for rel in ("modules/01_tensor", "tests/01_tensor"):
        shutil.copytree(REPO / rel, root / rel)
    (root / "tinytorch").mkdir()
    shutil.copy(REPO / "tinytorch" / "__init__.py", root / "tinytorch" / "__init__.py")
    monkeypatch.setenv("TITO_ROOT", str(root))
    monkeypatch.delenv("IN_TEST", raising=False)
    return root


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"fixture text {old!r} not found in {path}"
    path.write_text(text.replace(old, new, 1))

"""Atomic file writes for tito: a re-export of the project's one writer, `tinytorch.utils.files`.

That module (generated from modules/01_tensor/utilities.py) uses only the standard library, so tito can
import it even while a module it is exporting is broken.
"""
from __future__ import annotations

from tinytorch.utils.files import write_bytes_atomic, write_json_atomic, write_text_atomic

__all__ = ["write_bytes_atomic", "write_json_atomic", "write_text_atomic"]

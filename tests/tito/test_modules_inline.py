"""Every module's inline tests pass: its source runs top to bottom as plain Python, as `tito module test` runs it."""
import pytest

from tito.project import discover_modules, find_root
from tito.runner import run_inline_tests

MODULES = discover_modules(find_root())


@pytest.mark.slow
@pytest.mark.parametrize("module", MODULES, ids=[module.key for module in MODULES])
def test_inline_tests_pass(module):
    result = run_inline_tests(module)
    assert result.passed, result.summary() + "\n" + result.output_tail

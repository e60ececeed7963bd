"""bench/olympics.py: the family of thirty submissions and the ways two runs are compared."""
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("olympics_bench", ROOT / "bench" / "olympics.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_thirty_models_of_the_reference_family(bench):
    models = bench.family()
    assert len(models) == 30 and len(set(models)) == 30
    assert sum(name.startswith("baseline") for name in models) == 4


def test_agreement(bench):
    assert bench.agreement({"a": 1, "b": 1, "c": 3}, {"a": 1, "b": 2, "c": 3}) == (False, pytest.approx(2 / 3))
    assert bench.agreement({"a": 1}, {"a": 1}) == (True, 1.0)


def test_contradictions_count_reversed_strict_orderings(bench):
    first = {"a": {"b", "c"}, "b": set(), "c": set()}  # a beats b and c
    second = {"a": set(), "b": {"a"}, "c": set()}  # b beats a
    assert bench.contradictions(first, second) == (2, 1)
    assert bench.plain_order({"a": 1, "b": 2}) == {"a": {"b"}, "b": set()}


def test_rank_within_places(bench):
    assert bench.within_places({"a": (1, 3), "b": (2, 2)}, {"a": 3, "b": 1}) == 0.5

"""`benchmark.TinyMLPerf`: the lazy re-export of Module 18's harness (PEP 562 module __getattr__)."""
import subprocess
import sys
from pathlib import Path

import pytest

import tinytorch.benchmarking.benchmark as benchmark
from tinytorch.benchmarking import tinymlperf

REPO = Path(__file__).resolve().parents[2]  # `python -c` imports this checkout's tinytorch from its cwd


def test_tinymlperf_is_reexported_and_listed_in_all():
    assert benchmark.TinyMLPerf is tinymlperf.TinyMLPerf
    assert "TinyMLPerf" in benchmark.__all__
    namespace = {}
    exec("from tinytorch.benchmarking.benchmark import *", namespace)
    assert namespace["TinyMLPerf"] is tinymlperf.TinyMLPerf


def test_unknown_attribute_still_raises_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'NoSuchThing'"):
        benchmark.NoSuchThing  # noqa: B018 (the attribute access is the test)


def test_importing_benchmark_does_not_import_tinymlperf():
    code = ("import sys, tinytorch.benchmarking.benchmark\n"
            "print('tinytorch.benchmarking.tinymlperf' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=REPO)
    assert done.stdout.strip() == "False"

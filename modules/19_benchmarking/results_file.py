# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The results file (versioned JSON)
#
# Provided code for Module 19 (no exercises). A suite's results are saved with every raw value, the
# machine's description and the run's settings, in a JSON document that names its format:
#
# ```
# {"schema": "tinytorch.benchmark_suite", "schema_version": 1,
#  "system_info": {...}, "config": {...the BenchmarkSettings...},
#  "results": {"latency": {"model_a": {"metric_name": ..., "unit": "ms", "values": [...], ...}}, ...}}
# ```
#
# Each result's `ci_lower`/`ci_upper` are the interval the report and the plots show
# (`significance.display_interval`: for accuracy on one data set, the Wilson interval of the correct
# answers), so every output of a run carries the same interval. Reading a file of another version, a
# foreign JSON file, a damaged one, one of the wrong structure or one nested absurdly deep fails with a
# message that names the file and the field. Each result is a plain dict here (what
# `BenchmarkResult.to_dict()` makes) until `results_from_document` turns it back into a result with the
# function it is given (the lesson's `results_from_json` gives `BenchmarkResult.from_dict`). Files are
# written atomically.

# %%
#| default_exp benchmarking.results_file
#| export
from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Callable

import numpy as np

from tinytorch.benchmarking.metrics import check_metric
from tinytorch.benchmarking.significance import display_interval
from tinytorch.utils.files import write_text_atomic

# %%
#| export
RESULTS_SCHEMA = "tinytorch.benchmark_suite"
RESULTS_SCHEMA_VERSION = 1


def jsonable(value: Any) -> Any:
    """Metadata as JSON-native types: tuples become lists, NumPy scalars become Python numbers."""
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _entry(result: Any, metric: str) -> dict:
    """`result.to_dict()`, its interval the one the report shows."""
    entry = result.to_dict()
    low, high = display_interval(result, metric)
    entry["ci_lower"], entry["ci_upper"] = low, high
    entry["summary"] = {**entry["summary"], "ci_lower": low, "ci_upper": high}
    return entry


def results_to_json(results: Mapping[str, Mapping[str, Any]], system_info: Mapping, config: Mapping) -> dict:
    """The versioned, JSON-ready form of suite results (each result through its `to_dict()`)."""
    return {"schema": RESULTS_SCHEMA, "schema_version": RESULTS_SCHEMA_VERSION,
            "system_info": dict(system_info), "config": dict(config),
            "results": {metric: {name: _entry(result, metric) for name, result in per_model.items()}
                        for metric, per_model in results.items()}}


def parse_results_document(data: Any, source: str = "results") -> tuple[dict, dict, dict]:
    """Check a results document; return `(metric -> model -> result dict, system_info, config)`."""
    if not isinstance(data, dict) or data.get("schema") != RESULTS_SCHEMA:
        raise ValueError(f"{source} is not a TinyTorch benchmark results file: it lacks "
                         f"\"schema\": \"{RESULTS_SCHEMA}\"; load a file written by BenchmarkSuite.save_results")
    version = data.get("schema_version")
    if version != RESULTS_SCHEMA_VERSION:
        raise ValueError(f"{source} has schema_version {version!r}, but this TinyTorch reads version "
                         f"{RESULTS_SCHEMA_VERSION}; re-run the benchmark and save it again")
    def mapping(value: Any, field: str) -> dict:
        if not isinstance(value, Mapping):
            raise ValueError(f"{source}: field {field!r} is a {type(value).__name__}, but it must be an object; "
                             "load a file written by BenchmarkSuite.save_results")
        return dict(value)

    results = {}
    for metric, per_model in mapping(data.get("results", {}), "results").items():
        try:
            check_metric(metric)
        except ValueError as error:
            raise ValueError(f"{source}: field 'results.{metric}': {error}") from None
        results[metric] = {name: mapping(entry, f"results.{metric}.{name}")
                           for name, entry in mapping(per_model, f"results.{metric}").items()}
    return results, mapping(data.get("system_info", {}), "system_info"), mapping(data.get("config", {}), "config")


def results_from_document(data: Any, result_from_dict: Callable[[Mapping], Any],
                          source: str = "results") -> tuple[dict, dict, dict]:
    """`parse_results_document`, each result dict rebuilt by `result_from_dict`, with clear errors."""
    raw, system_info, config = parse_results_document(data, source)
    results: dict[str, dict[str, Any]] = {}
    for metric, per_model in raw.items():
        results[metric] = {}
        for name, entry in per_model.items():
            try:
                results[metric][name] = result_from_dict(entry)
            except (KeyError, TypeError, ValueError) as error:
                raise ValueError(f"{source}: the {metric} result of model {name!r} is malformed ({error}); "
                                 f"re-run the benchmark and save it again") from error
    return results, system_info, config

def write_results_file(path: str | Path, document: Mapping) -> Path:
    """Write a results document atomically (sorted keys, readable indentation)."""
    return write_text_atomic(path, json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")


def read_results_file(path: str | Path) -> Any:
    """The JSON of a results file; clear errors for a missing or corrupt file."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise FileNotFoundError(f"results file {path} does not exist; write one with save_results()") from error
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"results file {path} is corrupt (not valid JSON: {error}); "
                         f"re-run the benchmark and save it again") from error
    except RecursionError:  # e.g. 100,000 nested brackets: no results file is nested that deep
        raise ValueError(f"results file {path} is nested too deeply to be a results file; load a file written "
                         "by BenchmarkSuite.save_results") from None

"""Factories for the models of bench/interval_coverage.py, importable by worker processes.

A worker receives a model as data or as an importable factory (`ModelSource.factory("coverage_models:matmul")`,
with this folder on PYTHONPATH); this module imports only numpy so that the workers stay light.
"""
import numpy as np


def matmul():
    """`x @ W`, W a seeded 64x64 float32 matrix: with a (1, 64) input, the issue's matmul 1x64 @ 64x64."""
    weight = np.random.default_rng(1).standard_normal((64, 64)).astype(np.float32)

    def model(x):
        return x @ weight

    model.name = "matmul_1x64"
    return model

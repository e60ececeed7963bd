"""The optimization table of the reference TinyDigits MLP: accuracy, bytes and batch-1 latency.

For the baseline, its INT8 version, 50%-pruned (+ fine-tuned) and 90%-pruned (with and without
fine-tuning) variants: accuracy on the 200 TinyDigits test images, parameter bytes (dtype-aware),
the bytes of the CSR form (data + indices + indptr + bias; int8 models are stored dense), the
measured sparsity and the median batch-1 latency of the dense and of the CSR form, all in one run.

Every figure is measured here; latency depends on this machine and its load, so the BLAS set-up is
printed with it. Runs in a few seconds.

Usage (from the repository root):
    python bench/substrate_table.py [--iterations 500] [--json]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_info

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's tinytorch when run as a script

from tinytorch.datasets.tinydigits import load_tinydigits  # noqa: E402
from tinytorch.models.zoo import load_reference_model  # noqa: E402
from tinytorch.optimization.compression import (csr_break_even_sparsity, fine_tune, magnitude_prune,  # noqa: E402
                                                measure_sparsity, sparse_nbytes, to_sparse)
from tinytorch.optimization.quantization import quantize_model  # noqa: E402
from tinytorch.profiling.profiler import Profiler  # noqa: E402

FINE_TUNE = {"epochs": 20, "lr": 0.05, "batch_size": 32, "seed": 0}  # fine_tune's documented defaults


def build_variants(baseline, x_train, y_train) -> dict:
    """Every variant from the baseline, deterministically (seeded fine-tuning)."""
    pruned_50 = magnitude_prune(baseline, sparsity=0.5, scope="global")
    pruned_90 = magnitude_prune(baseline, sparsity=0.9, scope="global")
    return {
        "baseline fp32": baseline,
        "int8 per-channel": quantize_model(baseline, bits=8, per_channel=True),
        "int8 per-tensor": quantize_model(baseline, bits=8, per_channel=False),
        "pruned 50%": pruned_50,
        "pruned 50% + fine-tune": fine_tune(pruned_50, x_train, y_train, **FINE_TUNE),
        "pruned 90%": pruned_90,
        "pruned 90% + fine-tune": fine_tune(pruned_90, x_train, y_train, **FINE_TUNE),
    }


def _is_quantized(model) -> bool:
    return any(type(layer).__name__ == "QuantizedLinear" for layer in model.layers)


def interleaved_latency_ms(models: dict, sample, iterations: int, rounds: int = 5) -> dict[str, np.ndarray]:
    """Batch-1 latency samples (ms) per model, measured round-robin (`rounds` blocks each) so that
    drift and background load hit every model alike."""
    profiler = Profiler()
    per_round = max(1, iterations // rounds)
    samples = {name: [] for name in models}
    for name, model in models.items():
        profiler.latency_samples(model, sample, warmup=50, iterations=1)
    for _ in range(rounds):
        for name, model in models.items():
            samples[name].extend(profiler.latency_samples(model, sample, warmup=5, iterations=per_round))
    return {name: np.asarray(values) for name, values in samples.items()}


def measure(models: dict, x_test, y_test, iterations: int) -> pd.DataFrame:
    rows, timed = [], {}
    base_accuracy = base_bytes = None
    for name, model in models.items():
        accuracy = float((model(x_test).data.argmax(axis=-1) == y_test).mean())
        parameter_bytes = sum(p.nbytes for p in model.parameters())
        quantized = _is_quantized(model)
        timed[(name, "dense")] = model
        if not quantized:
            timed[(name, "csr")] = to_sparse(model)
        if base_accuracy is None:
            base_accuracy, base_bytes = accuracy, parameter_bytes
        rows.append({
            "model": name,
            "accuracy": accuracy,
            "delta_points": 100 * (accuracy - base_accuracy),
            "sparsity": measure_sparsity(model),
            "param_bytes": parameter_bytes,
            "param_vs_fp32": parameter_bytes / base_bytes,
            "csr_bytes": None if quantized else sparse_nbytes(model),
        })
    latency = interleaved_latency_ms(timed, x_test[:1], iterations)
    for row in rows:
        dense, csr = latency[(row["model"], "dense")], latency.get((row["model"], "csr"))
        row["latency_dense_ms"] = float(np.median(dense))
        row["dense_iqr_ms"] = float(np.subtract(*np.percentile(dense, [75, 25])))
        row["latency_csr_ms"] = None if csr is None else float(np.median(csr))
    return pd.DataFrame(rows)


def blas_summary() -> str:
    pools = threadpool_info()
    parts = [f"{p.get('internal_api')} {p.get('version')} threads={p.get('num_threads')}" for p in pools]
    return f"numpy {np.__version__}; " + ("; ".join(parts) or "no BLAS thread pool found")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=500, help="timed batch-1 calls per model (default 500)")
    parser.add_argument("--json", action="store_true", help="print the table as JSON records")
    args = parser.parse_args(argv)
    if args.iterations < 1:
        parser.error(f"--iterations={args.iterations} must be >= 1")
    data = load_tinydigits()
    baseline = load_reference_model("tinydigits_mlp")
    table = measure(build_variants(baseline, data.x_train, data.y_train), data.x_test, data.y_test,
                    args.iterations)
    if args.json:
        print(table.to_json(orient="records", indent=2))  # missing values become null, not NaN
        return 0
    print(f"TinyDigits reference MLP, {len(data.y_test)} test images; fine-tune {FINE_TUNE}")
    print(f"latency: median of {args.iterations} batch-1 calls per model (a real test image), measured "
          f"round-robin in 5 blocks after warm-up; {blas_summary()}")
    formats = {"accuracy": "{:.3f}".format, "delta_points": "{:+.1f}".format, "sparsity": "{:.3f}".format,
               "param_vs_fp32": "{:.1%}".format, "latency_dense_ms": "{:.4f}".format,
               "dense_iqr_ms": "{:.4f}".format,
               "latency_csr_ms": "{:.4f}".format, "csr_bytes": "{:.0f}".format}
    print(table.to_string(index=False, formatters=formats, na_rep="n/a"))
    print("n/a: int8 models are stored dense (no CSR form here)")
    print("Latency differences smaller than the IQR are noise on this machine; none is claimed as a speed-up.")
    print(f"CSR (float32 values, int32 indices) beats the dense float32 array above sparsity "
          f"{csr_break_even_sparsity(64, 32):.3f} for the 64x32 layer and "
          f"{csr_break_even_sparsity(32, 10):.3f} for the 32x10 layer")
    return 0


if __name__ == "__main__":
    sys.exit(main())

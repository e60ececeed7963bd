"""Batch-1 inference latency of the reference MLP: tinytorch vs raw NumPy vs PyTorch CPU eager.

All three run the same weights (the shipped `tinydigits_mlp`) on the same real TinyDigits test image.
The NumPy candidate performs exactly the array operations tinytorch performs (reshape, matmul, add,
maximum, matmul, add), so the tinytorch/NumPy ratio is the cost of the framework around them. PyTorch
is optional (it is not a project dependency): without it the row says why it is absent.

Method: each candidate is calibrated to a block of calls lasting at least --min-block-ms (so the
~50 ns timer overhead is far below 1% of a block); then --rounds rounds each time one block of every
candidate, in an order rotated every round, so machine drift hits all candidates alike. One value per
block: its per-call time. Printed: median and quartiles per candidate, the ratio of medians to NumPy,
and the quartiles of the per-round (paired) ratios. Peers cross-check the figures in the same run:
`timeit` (best of 5 autoranged repeats) and `torch.utils.benchmark` (blocked_autorange median).

Run from the repository root:
    python bench/inference.py                  # baseline MLP, three ways
    python bench/inference.py --all-models     # plus every reference model through tinytorch
    python bench/inference.py --table          # plus accuracy and parameter bytes per reference model
    python bench/inference.py --batch 200      # the whole test set per call: framework overhead amortised
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import timeit
from pathlib import Path
from typing import Callable

import numpy as np
from threadpoolctl import threadpool_info

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's tinytorch

from tinytorch.datasets.tinydigits import load_tinydigits  # noqa: E402
from tinytorch.models.zoo import list_reference_models, load_reference_model  # noqa: E402

try:
    import torch
except ImportError:  # optional peer: the bench says so and carries on
    torch = None
TORCH_MISSING = "PyTorch not installed; `pip install torch` to add the PyTorch CPU eager column"

Block = Callable[[int], None]  # runs n calls


def repeat_calls(fn: Callable[[], object]) -> Block:
    def block(n: int) -> None:
        for _ in range(n):
            fn()
    return block


def numpy_block(model, x: np.ndarray) -> Block:
    w1, b1, w2, b2 = (p.data for p in model.parameters())

    def forward() -> np.ndarray:
        flat = x.reshape(x.shape[0], -1)
        return np.maximum(flat @ w1 + b1, 0) @ w2 + b2
    return repeat_calls(forward)


def torch_module(model):
    w1, b1, w2, b2 = (torch.from_numpy(np.array(p.data)) for p in model.parameters())
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    with torch.no_grad():  # nn.Linear stores (out, in): the transpose of tinytorch's (in, out)
        net[1].weight.copy_(w1.T), net[1].bias.copy_(b1), net[3].weight.copy_(w2.T), net[3].bias.copy_(b2)
    return net.eval()


def torch_block(net, x: np.ndarray) -> Block:
    xt = torch.from_numpy(np.array(x))

    def block(n: int) -> None:
        with torch.inference_mode():  # entered once per block, as a serving loop would
            for _ in range(n):
                net(xt)
    return block


def check_same_outputs(model, x: np.ndarray) -> None:
    expected = model(x).data
    w1, b1, w2, b2 = (p.data for p in model.parameters())
    np.testing.assert_array_equal(np.maximum(x.reshape(len(x), -1) @ w1 + b1, 0) @ w2 + b2, expected)
    if torch is not None:
        with torch.inference_mode():
            got = torch_module(model)(torch.from_numpy(np.array(x))).numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def calibrate(block: Block, min_block_s: float, clock=time.perf_counter) -> int:
    """Smallest power-of-two call count whose block lasts at least `min_block_s`."""
    calls = 1
    while True:
        start = clock()
        block(calls)
        if clock() - start >= min_block_s:
            return calls
        calls *= 2


def interleaved(blocks: dict[str, Block], calls: dict[str, int], rounds: int,
                clock=time.perf_counter_ns) -> dict[str, np.ndarray]:
    """Per-call seconds of one block per candidate per round, the order rotated every round."""
    names = list(blocks)
    values = {name: np.empty(rounds) for name in names}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            start = clock()
            blocks[name](calls[name])
            values[name][r] = (clock() - start) * 1e-9 / calls[name]
    return values


def timeit_peer(block: Block) -> float:
    timer = timeit.Timer(lambda: block(1))
    number, _ = timer.autorange()
    return min(timer.repeat(repeat=5, number=number)) / number


def torch_benchmark_peer(block: Block) -> float:
    from torch.utils import benchmark

    measurement = benchmark.Timer(stmt="block(1)", globals={"block": block}).blocked_autorange(min_run_time=1.0)
    return float(measurement.median)


def system_lines() -> list[str]:
    lines = [f"python {platform.python_version()}, numpy {np.__version__}, "
             f"torch {torch.__version__ if torch is not None else '(absent)'}, {platform.machine()}, "
             f"{os.cpu_count()} logical CPUs, load average {', '.join(f'{v:.2f}' for v in os.getloadavg())}"]
    for pool in threadpool_info():
        lines.append(f"threadpool: {pool.get('user_api')} {pool.get('internal_api')} {pool.get('version')} "
                     f"threads={pool.get('num_threads')} arch={pool.get('architecture')} ({Path(pool['filepath']).name})")
    if torch is not None:
        lines.append(f"torch intra-op threads={torch.get_num_threads()}")
    env = {k: v for k, v in sorted(os.environ.items()) if k.startswith(("OPENBLAS", "OMP_", "MKL_", "GOTO"))}
    lines.append("environment: " + (", ".join(f"{k}={v}" for k, v in env.items()) or "(no BLAS/OpenMP variables)"))
    return lines


def accuracy_table(digits) -> list[str]:
    lines = [f"{'model':28s} {'test accuracy':>14s} {'parameter bytes':>16s}"]
    for name in list_reference_models():
        model = load_reference_model(name)
        predictions = model(digits.x_test).data.argmax(axis=-1)
        correct = int((predictions == digits.y_test).sum())
        nbytes = sum(p.nbytes for p in model.parameters())
        lines.append(f"{name:28s} {correct / len(digits.y_test):>8.3f} ({correct}/{len(digits.y_test)}) {nbytes:>10d}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--batch", type=int, default=1, help="test images per call (1..200); default 1")
    parser.add_argument("--min-block-ms", type=float, default=2.0)
    parser.add_argument("--all-models", action="store_true", help="time every reference model through tinytorch")
    parser.add_argument("--table", action="store_true", help="print accuracy and parameter bytes per reference model")
    parser.add_argument("--no-peers", action="store_true", help="skip the timeit / torch.utils.benchmark cross-check")
    args = parser.parse_args(argv)
    if args.rounds < 5 or args.min_block_ms <= 0 or not 1 <= args.batch <= 200:
        parser.error(f"--rounds must be >= 5, --min-block-ms > 0 and --batch in 1..200, "
                     f"got {args.rounds}, {args.min_block_ms} and {args.batch}")

    digits = load_tinydigits()
    x = np.ascontiguousarray(digits.x_test[:args.batch])  # real test images
    model = load_reference_model("tinydigits_mlp")
    check_same_outputs(model, x)

    blocks: dict[str, Block] = {"numpy": numpy_block(model, x), "tinytorch": repeat_calls(lambda: model(x))}
    if torch is not None:
        blocks["torch eager"] = torch_block(torch_module(model), x)
    if args.all_models:
        for name in list_reference_models()[1:]:
            other = load_reference_model(name)
            blocks[f"tinytorch {name}"] = repeat_calls(lambda other=other: other(x))

    for block in blocks.values():  # warm-up: caches, lazy imports, branch predictors
        block(1000)
    calls = {name: calibrate(block, args.min_block_ms / 1e3) for name, block in blocks.items()}
    values = interleaved(blocks, calls, args.rounds)

    print(f"Latency of tinydigits_mlp (64-32-10), batch of {args.batch} TinyDigits test image(s) per call")
    for line in system_lines():
        print("  " + line)
    print(f"  {args.rounds} interleaved rounds, blocks >= {args.min_block_ms} ms, per-call times in microseconds")
    base = np.median(values["numpy"])
    print(f"{'candidate':34s} {'calls/block':>11s} {'median':>8s} {'p25':>8s} {'p75':>8s} "
          f"{'x numpy':>8s} {'paired ratio p25..p75':>22s}")
    for name, v in values.items():
        paired = v / values["numpy"]
        print(f"{name:34s} {calls[name]:>11d} {np.median(v) * 1e6:8.2f} {np.percentile(v, 25) * 1e6:8.2f} "
              f"{np.percentile(v, 75) * 1e6:8.2f} {np.median(v) / base:8.2f} "
              f"{np.percentile(paired, 25):>10.2f}..{np.percentile(paired, 75):<10.2f}")
    if torch is None:
        print(f"{'torch eager':34s} absent: {TORCH_MISSING}")
    ratio = np.median(values["tinytorch"]) / base
    print(f"target tinytorch <= 1.5 x numpy: {ratio:.2f} -> {'met' if ratio <= 1.5 else 'NOT met'}")

    if not args.no_peers:
        print("cross-check by peers (microseconds per call):")
        for name, block in blocks.items():
            row = f"  {name:32s} timeit best {timeit_peer(block) * 1e6:8.2f}"
            if torch is not None:
                row += f"   torch.utils.benchmark median {torch_benchmark_peer(block) * 1e6:8.2f}"
            print(row)
    if args.table:
        print("reference models on the 200 TinyDigits test images:")
        for line in accuracy_table(digits):
            print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())

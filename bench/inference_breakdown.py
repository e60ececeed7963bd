"""Where tinytorch's batch-1 overhead over raw NumPy goes, counted in CPU instructions (callgrind).

Wall-clock figures on a shared 2-core machine move by tens of percent from run to run; instruction
counts do not. Each variant below is run `--calls` times in a fresh interpreter under
`valgrind --tool=callgrind` (one BLAS thread), and once with zero calls; the difference (so imports
and set-up, such as building a variant, drop out) is divided by the number of calls, and the same
figure for an empty function (the loop and the call itself) is subtracted. The variants add tinytorch's pieces one at a
time to the NumPy forward pass of the reference MLP:

    numpy      the six array operations (reshape, matmul, add, maximum, matmul, add)
    check      only Sequential's input check (NaN / infinity)
    wraps      numpy + wrapping each intermediate in a Tensor and unwrapping it
    layers     the four layers' forward methods called in turn (validation, dispatch, wraps)
    model      the Sequential model, as users call it
    int8       the reference model tinydigits_mlp_int8 (QuantizedLinear layers)
    pruned50   the reference model tinydigits_mlp_pruned50 (dense Linear layers holding zeros)

Needs valgrind. Run from the repository root:  python bench/inference_breakdown.py [--calls 2000]
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = ("numpy", "check", "wraps", "layers", "model", "int8", "pruned50")

CHILD = """
import sys
import numpy as np
sys.path.insert(0, {root!r})
from tinytorch.core.layers import _all_finite
from tinytorch.core.tensor import Tensor
from tinytorch.datasets.tinydigits import load_tinydigits
from tinytorch.models.zoo import load_reference_model

x = np.ascontiguousarray(load_tinydigits().x_test[:1])
model = load_reference_model("tinydigits_mlp")
flatten, first, relu, second = model.layers
w1, b1, w2, b2 = (p.data for p in model.parameters())

def numpy_pass():
    return np.maximum(x.reshape(x.shape[0], -1) @ w1 + b1, 0) @ w2 + b2

def wraps():
    a = Tensor(x.reshape(x.shape[0], -1)).data
    a = Tensor(a @ w1 + b1).data
    a = Tensor(np.maximum(a, 0)).data
    return Tensor(a @ w2 + b2)

variants = {{"empty": lambda: None, "numpy": numpy_pass, "check": lambda: _all_finite(x), "wraps": wraps,
            "layers": lambda: second.forward(relu.forward(first.forward(flatten.forward(x)))),
            "model": lambda: model(x)}}
if sys.argv[1] in ("int8", "pruned50"):
    other = load_reference_model("tinydigits_mlp_" + sys.argv[1])
    variants[sys.argv[1]] = lambda: other(x)
call = variants[sys.argv[1]]
for _ in range(int(sys.argv[2])):
    call()
"""


def instructions(script: Path, variant: str, calls: int) -> int:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "callgrind.out"
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
        done = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable,
                               str(script), variant, str(calls)], capture_output=True, text=True, env=env)
    match = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or not match:
        sys.exit(f"callgrind failed for variant {variant}:\n{done.stderr[-2000:]}")
    return int(match.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args(argv)
    if args.calls < 1:
        parser.error(f"--calls must be >= 1, got {args.calls}")
    if shutil.which("valgrind") is None:
        sys.exit("valgrind not found; install it (apt-get install valgrind) to count instructions")
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "variant.py"
        script.write_text(CHILD.format(root=str(ROOT)), encoding="utf-8")
        def count_per_call(variant: str) -> float:
            return (instructions(script, variant, args.calls) - instructions(script, variant, 0)) / args.calls

        loop = count_per_call("empty")
        per_call = {v: count_per_call(v) - loop for v in VARIANTS}
    print(f"instructions per batch-1 call (callgrind, {args.calls} calls; set-up and the empty loop subtracted)")
    for variant in VARIANTS:
        print(f"  {variant:8s} {per_call[variant]:9.0f}   x numpy {per_call[variant] / per_call['numpy']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

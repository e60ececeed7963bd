"""The TorchPerf Olympics for a class of 30: how long an event takes, and how stable its ranking is.

Thirty submissions of the reference MLP family (the baseline submitted by several teams, INT8 per
channel and per tensor, global and per-layer magnitude pruning at many sparsities, pruned then
quantized, the fine-tuned 50% model) are written with `tito olympics submit`'s function. The event is
then run `--repeats` times, each run measuring every entry in fresh processes (`run_event`), and
every pair of runs is compared:

- same ranking: the fraction of run pairs whose ranks agree for every entry;
- same rank: the fraction of entries whose rank agrees, averaged over run pairs;
- contradictions: among entry pairs that one run orders strictly ("significantly better" for the
  noise-aware ranks, a lower rank for plain ranks), the fraction the other run orders the other way.

Noise-aware ranks are `tito.olympics.ranking` (Holm-corrected pairwise tests); plain ranks order by the
point estimate alone, as single-number leaderboards do. As the peer in the same process, one plain
in-process `Benchmark.run_latency_benchmark` of the same 31 models with the same settings is timed.
The load average is printed at start and end: the machine is shared, and figures move with it.

Usage (from the repository root):
    python bench/olympics.py [--event latency_sprint] [--repeats 4] [--processes 10] [--json]
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's tinytorch and tito when run as a script

from tinytorch.datasets.tinydigits import load_tinydigits  # noqa: E402
from tinytorch.models.zoo import load_reference_model, save_model  # noqa: E402
from tinytorch.optimization.compression import magnitude_prune  # noqa: E402
from tinytorch.optimization.quantization import quantize_model  # noqa: E402
from tito.olympics import EVENTS  # noqa: E402
from tito.olympics.board import rank_entries  # noqa: E402
from tito.olympics.database import Database  # noqa: E402
from tito.olympics.measure import MeasureSettings  # noqa: E402
from tito.olympics.runner import run_event  # noqa: E402
from tito.olympics.submission import submit  # noqa: E402


def family() -> dict:
    """Thirty models of the reference MLP family, by team name."""
    base = load_reference_model("tinydigits_mlp")
    int8 = lambda model: quantize_model(model, bits=8)  # noqa: E731
    prune = lambda sparsity, scope="global": magnitude_prune(base, sparsity=sparsity, scope=scope)  # noqa: E731
    models = {f"baseline-{i}": load_reference_model("tinydigits_mlp") for i in range(1, 5)}
    models["int8-a"], models["int8-b"] = int8(base), int8(base)
    models["int8-per-tensor"] = quantize_model(base, bits=8, per_channel=False)
    for sparsity in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        models[f"prune-{int(sparsity * 100)}"] = prune(sparsity)
    for sparsity in (0.3, 0.5, 0.7):
        models[f"prune-layer-{int(sparsity * 100)}"] = prune(sparsity, "layer")
    for sparsity in (0.1, 0.3, 0.5, 0.7, 0.9):
        models[f"prune-{int(sparsity * 100)}-int8"] = int8(prune(sparsity))
    fine_tuned = load_reference_model("tinydigits_mlp_pruned50")
    models["prune-50-tuned"], models["prune-50-tuned-int8"] = fine_tuned, int8(fine_tuned)
    for sparsity in (0.15, 0.25, 0.35, 0.45):
        models[f"prune-{int(sparsity * 100)}"] = prune(sparsity)
    assert len(models) == 30, len(models)
    return models


def write_submissions(event: str, folder: Path) -> Path:
    subs = folder / "submissions"
    for team, model in family().items():
        save_model(model, folder / "models" / team)
        submit(event, folder / "models" / team, team, subs)
    return subs


def ranks_of(event: str, run, labels) -> tuple[dict, dict, dict, dict]:
    """(noise-aware rank, plain rank, significantly-worse sets, places) by team for one run's valid entries."""
    valid = [e for e in run.entries if e.status == "valid"]
    references = {run.id: next(e for e in valid if e.is_reference)}
    rows, ranking = rank_entries(event, valid, references, labels)
    team = {row.key: row.label for row in rows}
    aware = {row.label: row.placement.rank for row in rows}
    plain = {row.label: row.placement.plain_rank for row in rows}
    beats = {row.label: {team[k] for k in row.placement.worse} for row in rows}
    places = {row.label: (row.placement.rank, row.placement.worst) for row in rows}
    return aware, plain, beats, places


def within_places(places_a: dict, ranks_b: dict) -> float:
    """The fraction of entries whose rank in run B lies within the places run A gave them."""
    common = [t for t in places_a if t in ranks_b]
    return sum(places_a[t][0] <= ranks_b[t] <= places_a[t][1] for t in common) / len(common)


def agreement(first: dict, second: dict) -> tuple[bool, float]:
    common = sorted(set(first) & set(second))
    same = [first[t] == second[t] for t in common]
    return all(same), sum(same) / len(same)


def contradictions(order_a: dict, order_b: dict) -> tuple[int, int]:
    """(pairs ordered strictly by run A, of which run B orders the other way)."""
    strict = flipped = 0
    for winner, losers in order_a.items():
        for loser in losers:
            if winner in order_b and loser in order_b:
                strict += 1
                flipped += winner in order_b.get(loser, set())
    return strict, flipped


def plain_order(plain: dict) -> dict:
    return {a: {b for b in plain if plain[b] > plain[a]} for a in plain}


def peer_seconds(models: dict, settings: MeasureSettings) -> float:
    """One in-process Benchmark of the same models (31 with the baseline), the same settings."""
    from tinytorch.benchmarking.benchmark import Benchmark

    named = []
    for team, model in models.items():
        model.name = team
        named.append(model)
    reference = load_reference_model("tinydigits_mlp")
    started = time.perf_counter()
    Benchmark(named + [reference], warmup_runs=settings.warmup, measurement_runs=settings.runs,
              min_block_ms=settings.min_block_ms).run_latency_benchmark(input_shape=(1, 8, 8))
    return time.perf_counter() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--event", choices=EVENTS, default="latency_sprint")
    parser.add_argument("--repeats", type=int, default=4, help="runs of the event (default 4)")
    parser.add_argument("--processes", type=int, default=10, help="measuring processes per run (default 10)")
    parser.add_argument("--runs", type=int, default=10, help="timed blocks per entry per process (default 10)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.repeats < 2:
        parser.error("--repeats must be at least 2 to compare runs")
    settings = MeasureSettings(processes=args.processes, runs=args.runs)
    labels = load_tinydigits().y_test
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="olympics-bench-") as tmp:
        subs = write_submissions(args.event, Path(tmp))
        runs, seconds = [], []
        with Database(str(Path(tmp) / "olympics.db")) as db:
            for repeat in range(args.repeats):
                started = time.perf_counter()
                report = run_event(args.event, subs, db, settings)
                seconds.append(time.perf_counter() - started)
                runs.append(report.run)
                print(f"run {repeat + 1}: {seconds[-1]:.1f} s, load average {os.getloadavg()[0]:.2f}", file=sys.stderr)
        peer = peer_seconds(family(), settings)
    load_end = os.getloadavg()
    ranked = [ranks_of(args.event, run, labels) for run in runs]
    pairs = list(itertools.combinations(range(len(runs)), 2))
    summary = {"event": args.event, "submissions": 30, "repeats": args.repeats, "settings": settings.describe(),
               "cpu_count": os.cpu_count(), "load_average_start": [round(x, 2) for x in load_start],
               "load_average_end": [round(x, 2) for x in load_end],
               "run_seconds": [round(s, 1) for s in seconds], "peer_in_process_benchmark_seconds": round(peer, 2),
               "measuring_process_seconds": [round(sum(p["seconds"] for p in run.processes), 1) for run in runs],
               "valid_entries": [sum(e.status == "valid" for e in run.entries) for run in runs],
               "invalid_entries": [sum(e.status == "invalid" for e in run.entries) for run in runs]}
    for name, index in (("noise_aware", 0), ("plain", 1)):
        results = [agreement(ranked[a][index], ranked[b][index]) for a, b in pairs]
        if name == "noise_aware":
            flips = [contradictions(ranked[a][2], ranked[b][2]) for a, b in pairs]
        else:
            flips = [contradictions(plain_order(ranked[a][1]), plain_order(ranked[b][1])) for a, b in pairs]
        strict, flipped = sum(s for s, _ in flips), sum(f for _, f in flips)
        ordered = [(a, b) for a in range(len(runs)) for b in range(len(runs)) if a != b]
        covered = [within_places(ranked[a][3], ranked[b][index]) if name == "noise_aware"
                   else within_places({t: (r, r) for t, r in ranked[a][1].items()}, ranked[b][1]) for a, b in ordered]
        summary[name] = {"same_ranking": sum(r[0] for r in results) / len(results),
                         "rank_within_places_of_other_run": sum(covered) / len(covered),
                         "same_rank_per_entry": sum(r[1] for r in results) / len(results),
                         "strict_orderings": strict, "contradicted": flipped,
                         "distinct_ranks_per_run": [len(set(r[index].values())) for r in ranked],
                         "ranks_by_team": {team: [r[index].get(team) for r in ranked]
                                           for team in sorted(ranked[0][index])}}
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    mean_run = sum(seconds) / len(seconds)
    print(f"{args.event}: 30 submissions + the baseline, {settings.processes} processes x {settings.runs} blocks, "
          f"{os.cpu_count()} cores; load average {summary['load_average_start'][0]} at start, "
          f"{summary['load_average_end'][0]} at end")
    print(f"time per run: {', '.join(f'{s:.1f}' for s in seconds)} s (mean {mean_run:.1f} s); peer: one in-process "
          f"Benchmark of the same 31 models {peer:.2f} s, ratio {mean_run / peer:.1f}x")
    print(f"of which the {settings.processes} measuring processes: {summary['measuring_process_seconds']} s; "
          "the rest is the checks (one worker) and the static checks")
    print(f"valid entries per run: {summary['valid_entries']}; invalid (break a rule): {summary['invalid_entries']}")
    print(f"{'ranks':<12} {'same ranking':>13} {'same rank/entry':>16} {'in places':>10} {'contradicted':>22} "
          f"{'distinct ranks':>16}")
    for name in ("noise_aware", "plain"):
        s = summary[name]
        print(f"{name:<12} {s['same_ranking']:>13.2f} {s['same_rank_per_entry']:>16.2f} "
              f"{s['rank_within_places_of_other_run']:>10.2f} "
              f"{s['contradicted']:>7} of {s['strict_orderings']:<6} pairs "
              f"{str(s['distinct_ranks_per_run']):>16}")
    print("same ranking: run pairs whose ranks agree for every entry; in places: entries whose rank in one run lies "
          "within the places the other run gave them (plain ranks: the same rank); contradicted: strict orderings "
          "of one run reversed by another")
    return 0


if __name__ == "__main__":
    sys.exit(main())

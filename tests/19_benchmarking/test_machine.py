"""Was the machine quiet? Readings from a fake /proc and /sys, injected snapshots, and real load.

Thresholds are judged on readings given to the functions; the one test with real load (busy_machine)
asserts only that the other processes' CPU time was seen, never a time.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

from tinytorch.benchmarking.benchmark import (
    Benchmark, busy_machine, machine_snapshot, machine_warnings, value_warnings)
from tinytorch.benchmarking.system import SHARE_FLOOR


def snapshot(time_s=0.0, load=0.2, busy_s=100.0, own_s=10.0, cores=2, mhz=(), governors=()):
    return {"monotonic_s": time_s, "pid": 1, "cpu_count": cores, "load_average": [load, load, load],
            "machine_busy_s": busy_s, "own_cpu_s": own_s, "governors": list(governors), "frequency_mhz": list(mhz)}


def fake_machine(root, stat_line: str, loadavg: str, governor: str | None = None, mhz: int | None = None):
    proc, sys_root = root / "proc", root / "sys"
    proc.mkdir(parents=True)
    (proc / "stat").write_text(stat_line + "\ncpu0 1 2 3 4\n")
    (proc / "loadavg").write_text(loadavg)
    if governor is not None:
        folder = sys_root / "devices/system/cpu/cpu0/cpufreq"
        folder.mkdir(parents=True)
        (folder / "scaling_governor").write_text(governor + "\n")
        (folder / "scaling_cur_freq").write_text(f"{mhz * 1000}\n")
    return proc, sys_root


def test_a_snapshot_reads_proc_and_sys(tmp_path):
    proc, sys_root = fake_machine(tmp_path, "cpu  100 20 30 400 50 6 7 8 0 0", "3.50 2.00 1.00 3/200 999",
                                  governor="powersave", mhz=2400)
    taken = machine_snapshot(proc, sys_root)
    hz = os.sysconf("SC_CLK_TCK")
    assert taken["load_average"] == [3.5, 2.0, 1.0]
    assert taken["machine_busy_s"] == pytest.approx((100 + 20 + 30 + 6 + 7 + 8) / hz), "idle and iowait excluded"
    assert taken["governors"] == ["powersave"] and taken["frequency_mhz"] == [2400.0]
    assert taken["own_cpu_s"] > 0 and taken["pid"] == os.getpid()


def test_a_machine_without_cpufreq_or_proc_is_recorded_as_unknown(tmp_path):
    taken = machine_snapshot(tmp_path / "no-proc", tmp_path / "no-sys")
    assert taken["load_average"] is None and taken["machine_busy_s"] is None
    assert taken["governors"] == [] and taken["frequency_mhz"] == []
    later = {**taken, "monotonic_s": taken["monotonic_s"] + 5.0}
    assert machine_warnings(taken, later) == [], "nothing could be read, so nothing is claimed"


def test_a_quiet_machine_gives_no_warning():
    start = snapshot()
    end = snapshot(time_s=2.0, busy_s=102.0, own_s=11.95)  # this run used 1.95 of the 2 busy seconds
    assert machine_warnings(start, end) == []


def test_load_average_at_or_above_the_core_count_is_said():
    [warning] = machine_warnings(snapshot(load=2.4), snapshot(time_s=0.01, load=2.6))
    assert "load average 2.40 at the start and 2.60 at the end on 2 core(s)" in warning


def test_other_processes_busy_during_the_run_are_named():
    start, end = snapshot(), snapshot(time_s=2.0, busy_s=105.8, own_s=11.9)
    asked = []

    def busiest(exclude):
        asked.append(exclude)
        return ["spinner (pid 7) 95%"]

    [warning] = machine_warnings(start, end, busiest)
    assert "other processes used 1.9 core(s)" in warning and "spinner (pid 7) 95%" in warning
    assert 1 in asked[0] and os.getpid() in asked[0], "this run is not an other process"
    assert machine_warnings(snapshot(), snapshot(time_s=2.0, busy_s=102.0, own_s=11.95), busiest) == []
    assert len(asked) == 1, "the processes are listed only when a warning needs their names"


def test_the_busiest_processes_are_real_ones_above_a_tenth_of_a_core():
    from tinytorch.benchmarking.system import busiest_processes

    with busy_machine(processes=1):
        np.sort(np.random.default_rng(0).standard_normal(2_000_000))  # let the spinner run a moment
        names = busiest_processes({os.getpid()})
    assert any("python" in name for name in names) and all(name.endswith("%") for name in names)


def test_a_run_off_the_cpu_is_preempted():
    start, end = snapshot(), snapshot(time_s=2.0, busy_s=101.4, own_s=11.4)  # 70% of its time on the CPU
    [warning] = machine_warnings(start, end)
    assert "on the CPU only 70%" in warning and SHARE_FLOOR == 0.9


def test_a_frequency_change_is_said_with_the_governor():
    start = snapshot(mhz=[2400, 2400], governors=["schedutil"])
    end = snapshot(time_s=0.01, mhz=[1600, 1800], governors=["schedutil"])
    [warning] = machine_warnings(start, end)
    assert "from 2400 to 1700 MHz" in warning and "schedutil" in warning
    assert machine_warnings(start, snapshot(time_s=0.01, mhz=[2350, 2400])) == [], "within 10%"


def test_unstable_or_drifting_values_are_said():
    assert value_warnings("m", [1.0, 1.01, 0.99, 1.0]) == []
    [unstable] = value_warnings("m", [1.0, 1.0, 1.0, 1.0, 2.0, 1.0])
    assert "m: its blocks varied by CV" in unstable
    drift = value_warnings("m", [1.0, 1.0, 1.0, 1.3, 1.3, 1.3])
    assert any("drifted" in w for w in drift)
    assert value_warnings("m", [5.0]) == [], "one value: no spread to judge"


def test_a_real_busy_machine_is_seen_and_said():
    """busy_machine keeps every core busy while a real benchmark runs: its warnings must say so."""
    def model(x):
        return np.sort(x)

    try:
        with busy_machine() as spinners:
            start = machine_snapshot()
            Benchmark([model], measurement_runs=30, min_block_ms=5.0).run_latency_benchmark((1, 20_000))
            end = machine_snapshot()
    except OSError as error:  # pragma: no cover - a sandbox refusing processes
        pytest.fail(f"busy_machine could not start processes here: {error}")
    warnings = " ".join(machine_warnings(start, end))
    assert spinners >= 1 and ("other processes used" in warnings or "load average" in warnings), warnings


def test_every_in_process_result_carries_its_readings_and_scope():
    def model(x):
        return x

    result = Benchmark([model], measurement_runs=3, min_block_ms=0.1).run_latency_benchmark((1, 4))["model_0"]
    meta = result.metadata
    assert meta["interval_scope"] == "this process" and "covers this process only" in meta["scope_note"]
    assert meta["machine"]["start"]["cpu_count"] == os.cpu_count() and isinstance(meta["warnings"], list)
    assert "figures" in meta["between_process_cv_recorded"]

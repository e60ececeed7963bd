"""Running a module's tests: its inline tests (the source as plain Python) and its pytest folder.

Pass or fail comes from exit codes and pytest's own JUnit report, so every count printed is real.
"""
from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from .pipeline import child_env
from .project import Module, TitoError, require_source

_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<func>\S+)')


@dataclass
class InlineResult:
    passed: bool
    seconds: float
    failing_test: str | None = None  # innermost test_* function in the traceback
    location: str | None = None  # file:line of the innermost frame in the source
    error: str | None = None  # the exception line
    output_tail: str = ""

    def summary(self) -> str:
        if self.passed:
            return f"inline tests passed ({self.seconds:.1f} s)"
        test = f"test {self.failing_test}" if self.failing_test else "module code"
        return f"inline tests failed in {test} at {self.location}: {self.error}"


def run_inline_tests(module: Module, timeout: float = 600, script: Path | None = None) -> InlineResult:
    """Run the module source (or `script`, e.g. a student's notebook as a script) as plain Python."""
    script = Path(script) if script else require_source(module)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tito-inline-") as scratch:  # files a module writes land here
        try:
            done = subprocess.run([sys.executable, str(script)], cwd=scratch, env=child_env(module.root),
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return InlineResult(False, time.perf_counter() - start, None, str(script),
                                f"timed out after {timeout:.0f} s (an infinite loop?)")
    seconds = time.perf_counter() - start
    if done.returncode == 0:
        return InlineResult(True, seconds, output_tail=done.stdout[-2000:])
    return _failure_from_traceback(script, done.stderr, seconds, done.returncode)


def _failure_from_traceback(script: Path, stderr: str, seconds: float, returncode: int) -> InlineResult:
    lines = stderr.strip().splitlines()
    error = lines[-1] if lines else f"exited with code {returncode} and printed nothing on stderr"
    failing_test = location = None
    for line in lines:
        match = _FRAME.match(line)
        if match and Path(match["file"]).resolve() == script.resolve():
            location = f"{script}:{match['line']}"
            if match["func"].startswith("test"):
                failing_test = match["func"]
    return InlineResult(False, seconds, failing_test, location or str(script), error, stderr[-4000:])


@dataclass
class PytestResult:
    exit_code: int
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    failures: list[str] = field(default_factory=list)
    output_tail: str = ""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.passed > 0 and not (self.failed or self.errors)

    def summary(self) -> str:
        text = f"{self.passed} passed, {self.failed} failed, {self.errors} errors, {self.skipped} skipped"
        if self.failures:
            text += "; failing: " + ", ".join(self.failures[:10])
        return text


def run_module_pytest(module: Module, timeout: float = 1500, extra_args: list[str] | None = None) -> PytestResult:
    tests = module.tests_dir
    if not tests.is_dir():
        raise TitoError(f"module {module.key} has no tests folder {tests.relative_to(module.root)}; "
                        "add pytest tests for the exported code there", 1)
    with tempfile.TemporaryDirectory(prefix="tito-pytest-") as scratch:
        report = Path(scratch) / "report.xml"
        command = [sys.executable, "-m", "pytest", str(tests), "-q", "-p", "no:cacheprovider",
                   f"--junitxml={report}", *(extra_args or [])]
        try:
            done = subprocess.run(command, cwd=module.root, env=child_env(module.root),
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as error:
            raise TitoError(f"pytest for {module.key} timed out after {timeout:.0f} s", 1) from error
        result = PytestResult(done.returncode, output_tail=(done.stdout + done.stderr)[-4000:])
        if report.is_file():
            _read_junit(report, result)
    return result


def _read_junit(report: Path, result: PytestResult) -> None:
    for case in ET.parse(report).getroot().iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}".strip(":")
        if case.find("failure") is not None:
            result.failed += 1
            result.failures.append(name)
        elif case.find("error") is not None:
            result.errors += 1
            result.failures.append(name)
        elif case.find("skipped") is not None:
            result.skipped += 1
        else:
            result.passed += 1

"""How the grader runs a notebook: nbgrader's `Execute` preprocessor, with the rules of this course.

`GradingExecute` replaces nbgrader's executor in `tito grade`, `tito validate` and `tito module
complete --notebook` (configured in `tito.course.nbgrader_config`):

- Graded test cells, and every cell whose source is exactly the instructor's, go to the kernel as
  `tito_cell_request` messages, run by `tito.cell_runner`: no student transformer or hook applies to
  them. The student's own cells run as usual (`execute_request`).
- Only an error fails a test. Whatever a graded test cell wrote on stderr (a scipy RuntimeWarning,
  say) is shown as ordinary output: nbgrader would otherwise score the cell 0.
- The whole notebook has a time limit (`notebook_timeout`). A cell that runs past its timeout is
  interrupted; one that does not stop, or that kills its kernel, costs its own tests: the kernel is
  replaced, the cells before it are replayed (their outputs kept from the first run) and grading
  goes on after it. Cells that never ran (time is up) fail with the reason.
- What a cell prints is capped (`output_limit` characters, the rest dropped with a note), and so is
  each message the grader accepts from a kernel (ZMQ_MAXMSGSIZE): one notebook cannot fill the
  grader's memory or disk.

Everything noteworthy (a timeout, a restarted kernel, a test helper the student redefined) is a
flag; `RUNS` keeps the flags of each notebook run in this process for `tito.grading` to read.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from time import monotonic

from jupyter_core.utils import run_sync
from nbclient.client import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Integer, Unicode

# (student, notebook name) -> RunReport of the last run of that notebook in this process.
RUNS: dict[tuple[str, str], RunReport] = {}


@dataclass
class RunReport:
    flags: list[str] = field(default_factory=list)
    restarts: int = 0
    seconds: float = 0.0

    def flag(self, text: str) -> None:
        if text not in self.flags:
            self.flags.append(text)


def cell_label(cell, index: int) -> str:
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return grade_id or f"cell {index + 1}"


def cell_kind(cell, instructor_sources: frozenset[str]) -> str | None:
    """`test` (a graded test cell), `instructor` (runs as written) or None (the student's own code)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    if meta.get("solution"):
        return None
    if meta.get("grade"):
        return "test"
    if meta.get("locked") or cell.source in instructor_sources:
        return "instructor"
    return None


def instructor_sources(release_path: str) -> frozenset[str]:
    """Sources of the release's code cells that are not the student's to write."""
    if not release_path:
        return frozenset()
    import nbformat

    release = nbformat.read(release_path, as_version=4)
    return frozenset(cell.source for cell in release.cells if cell.cell_type == "code"
                     and not cell.get("metadata", {}).get("nbgrader", {}).get("solution") and cell.source.strip())


def exercise_names(release_path: str) -> frozenset[str]:
    """Names the release's solution cells define (functions, classes, assignments): the student's to
    define, even when an instructor cell bound them first (e.g. imported the package's stub of a function
    the lesson then asks for); the cell runner never restores such a name to the instructor's value."""
    if not release_path:
        return frozenset()
    import nbformat

    from .scan import parse, top_level_names

    release = nbformat.read(release_path, as_version=4)
    trees = [parse(cell.source) for cell in release.cells if cell.cell_type == "code"
             and cell.get("metadata", {}).get("nbgrader", {}).get("solution")]
    return frozenset(name for tree in trees if tree for name in top_level_names(tree, imports=False))


def _not_run(reason: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename="NotRun", evalue=reason, traceback=[f"NotRun: {reason}"])


def _size(msg: dict) -> int:
    content = msg.get("content", {})
    if "text" in content:
        return len(content["text"])
    return sum(len(value) if isinstance(value, str) else len(json.dumps(value))
               for value in content.get("data", {}).values())


class GradingExecute(Execute):
    """nbgrader's executor with the course's rules (see the module docstring)."""

    notebook_timeout = Integer(600, help="seconds the whole notebook may run").tag(config=True)
    output_limit = Integer(2**20, help="characters of output kept per cell").tag(config=True)
    interrupt_grace = Integer(5, help="seconds an interrupted cell has to stop").tag(config=True)
    max_restarts = Integer(3, help="kernels replaced per notebook before the rest is given up").tag(config=True)
    release_path = Unicode("", help="the release notebook: cells whose source is the instructor's").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self.iopub_timeout = self.interrupt_grace
        self.raise_on_iopub_timeout = True
        self.shutdown_kernel = "immediate"  # the results are in; a stuck kernel must not cost more time
        self.report = RunReport()
        self._sources = instructor_sources(self.release_path)
        self._exercise_names = sorted(exercise_names(self.release_path))
        start = monotonic()
        run_sync(self._run_notebook)()
        self.set_widgets_metadata()
        self.report.seconds = monotonic() - start
        nbgrader = (self.resources or {}).get("nbgrader", {})
        RUNS[(nbgrader.get("student", ""), nbgrader.get("notebook", ""))] = self.report
        return self.nb, self.resources

    # ------------------------------------------------------------ the notebook

    async def _run_notebook(self) -> None:
        deadline = monotonic() + self.notebook_timeout
        code_cells = [i for i, c in enumerate(self.nb.cells) if c.cell_type == "code" and c.source.strip()]
        position, broken = 0, set()
        while position < len(code_cells):
            async with self.async_setup_kernel():
                await self._kernel_info()
                if position:
                    await self._replay([i for i in code_cells[:position] if i not in broken], deadline)
                while position < len(code_cells) and deadline - monotonic() > 0.1:
                    index = code_cells[position]
                    position += 1
                    if await self._run_cell(index, deadline) == "broken":
                        broken.add(index)
                        self.report.restarts += 1
                        break
            if deadline - monotonic() <= 0.1:
                self.report.flag(f"notebook time limit: stopped after {self.notebook_timeout} s")
                self._give_up(code_cells[position:], f"the notebook's time limit ({self.notebook_timeout} s) "
                                                     "was reached before this cell ran")
                return
            if self.report.restarts > self.max_restarts and position < len(code_cells):
                self._give_up(code_cells[position:], f"the kernel had to be replaced {self.report.restarts} "
                                                     "times; the rest of the notebook was not run")
                return

    async def _kernel_info(self) -> None:
        info = await self.async_wait_for_reply(await _maybe_await(self.kc.kernel_info()))
        if info is not None and "language_info" in info["content"]:
            self.nb.metadata["language_info"] = info["content"]["language_info"]

    def _give_up(self, indexes, reason: str) -> None:
        for index in indexes:
            cell = self.nb.cells[index]
            if cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
                cell.outputs = [_not_run(reason)]

    async def _run_cell(self, index: int, deadline: float, replay: bool = False) -> str:
        """Run one cell; `broken` if its kernel is unusable afterwards (did not stop, or died)."""
        cell = self.nb.cells[index]
        label = cell_label(cell, index)
        remaining = deadline - monotonic()
        self._current_timeout = max(0.1, min(self.timeout, remaining))
        self._timed_out = False
        try:
            await self.async_execute_cell(cell, index, execution_count=self.code_cells_executed + 1)
        except CellTimeoutError:
            if not self.allow_errors:
                raise
            if not replay and self._timed_out:
                self._broken(cell, f"{label}: still running {self._current_timeout:g} s after its start and did not "
                                   "stop when interrupted; its kernel was replaced",
                             f"the cell ran longer than {self._current_timeout:g} s and did not stop when interrupted")
            elif not replay:  # it replied, but its output stopped: a message over the size cap was dropped
                self._broken(cell, f"{label}: its output stopped arriving (a message bigger than the grader accepts "
                                   "was dropped); its kernel was replaced",
                             "the cell's output stopped arriving: it printed more at once than the grader accepts")
            return "broken"
        except DeadKernelError:
            if not self.allow_errors:
                raise
            if not replay:
                self.report.flag(f"{label}: the kernel died (os._exit, a crash, or a limit); it was replaced")
                cell.outputs.append(NotebookNode(output_type="error", ename="DeadKernelError",
                                                 evalue="the kernel died while this cell ran",
                                                 traceback=["DeadKernelError: the kernel died while this cell ran"]))
            return "broken"
        if self._timed_out and not replay:
            if self._current_timeout < self.timeout:
                self.report.flag(f"{label}: interrupted at the notebook's time limit")
            else:
                self.report.flag(f"{label}: interrupted after {self.timeout} s")
        return "ok"

    def _broken(self, cell, flag: str, reason: str) -> None:
        self.report.flag(flag)
        cell.outputs.append(NotebookNode(output_type="error", ename="CellTimeoutError", evalue=reason,
                                         traceback=[f"CellTimeoutError: {reason}"]))

    async def _replay(self, indexes, deadline: float) -> None:
        """Run earlier cells again in a new kernel, keeping the outputs of their first run."""
        for index in indexes:
            original = self.nb.cells[index]
            self.nb.cells[index] = copy.deepcopy(original)
            try:
                outcome = await self._run_cell(index, deadline, replay=True)
            finally:
                self.nb.cells[index] = original
            if outcome == "broken" or monotonic() >= deadline:
                self.report.flag(f"replaying the cells before a replaced kernel stopped at {cell_label(original, index)}")
                return

    # ------------------------------------------------------------ one cell

    def _get_timeout(self, cell):
        return getattr(self, "_current_timeout", self.timeout)

    async def _async_handle_timeout(self, timeout, cell=None):
        self._timed_out = True
        self.error_on_timeout = {"ename": "CellTimeoutError", "evalue": f"the cell ran longer than {timeout:.3g} s "
                                 "and was interrupted", "traceback": [f"CellTimeoutError: interrupted after {timeout:.3g} s"]}
        return await super()._async_handle_timeout(timeout, cell)

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        kind = cell_kind(cell, self._sources) if cell.cell_type == "code" else None
        self._output_used = 0
        self._output_noted = False
        if kind is not None:
            label = cell_label(cell, cell_index)
            self.kc.execute = lambda code, **ignored: self._send_cell_request(code, kind, label)
        try:
            result = await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        finally:
            if kind is not None:
                del self.kc.execute
        if kind == "test":
            for output in cell.outputs:  # only an error fails a test (see the module docstring)
                if output.get("output_type") == "stream" and output.get("name") == "stderr":
                    output["name"] = "stdout"
        return result

    def _send_cell_request(self, code: str, kind: str, label: str) -> str:
        msg = self.kc.session.msg("tito_cell_request", {"code": code, "kind": kind, "label": label,
                                                        "exercise_names": self._exercise_names})
        self.kc.shell_channel.send(msg)
        return msg["header"]["msg_id"]

    def on_cell_executed(self, **kwargs):
        super().on_cell_executed(**kwargs)
        reply = kwargs.get("execute_reply") or {}
        label = cell_label(kwargs["cell"], kwargs["cell_index"])
        for flag in reply.get("content", {}).get("flags", []) or []:
            self.report.flag(f"{label}: {flag}")

    def output(self, outs, msg, display_id, cell_index):
        if msg.get("msg_type") == "error":
            return super().output(outs, msg, display_id, cell_index)
        room = self.output_limit - self._output_used
        size = _size(msg)
        self._output_used += size
        if room <= 0 or size > room:
            if msg.get("msg_type") == "stream" and room > 0:
                msg = {**msg, "content": {**msg["content"], "text": msg["content"]["text"][:room]}}
                super().output(outs, msg, display_id, cell_index)
            if not self._output_noted:
                self._output_noted = True
                self.report.flag(f"{cell_label(self.nb.cells[cell_index], cell_index)}: output truncated "
                                 f"at {self.output_limit} characters")
                outs.append(NotebookNode(output_type="stream", name="stdout",
                                         text=f"\n[output truncated: the grader keeps {self.output_limit} "
                                              "characters of a cell's output]\n"))
            return None
        return super().output(outs, msg, display_id, cell_index)

    async def async_start_new_kernel_client(self):
        """As nbclient's, with a cap on the size of a message the grader accepts from the kernel."""
        import zmq

        self.kc = self.km.client()
        # A bigger message ends the connection (ZMQ reconnects): it never reaches the grader's memory.
        self.kc.context.setsockopt(zmq.MAXMSGSIZE, max(8 * 2**20, 8 * self.output_limit))
        await _maybe_await(self.kc.start_channels())
        try:
            await _maybe_await(self.kc.wait_for_ready(timeout=self.startup_timeout))
        except Exception:
            await self._async_cleanup_kernel()
            raise
        self.kc.allow_stdin = False
        return self.kc


async def _maybe_await(value):
    import inspect

    return await value if inspect.isawaitable(value) else value


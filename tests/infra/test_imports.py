"""Which module may import which, checked by parsing every import of the project.

An import counts wherever it is written: at module level, inside a function (a lazy import), under
`if TYPE_CHECKING:`, and `importlib.import_module` / `importlib.util.find_spec` / `__import__`
with a literal name. The local stack loads the handlers by names it keeps in tables: those are
its declared dynamic imports (`DYNAMIC_IMPORTS`, read from the code), and a dynamic import that
is not declared there fails. The implicit import of a module's parent packages does not count:
that is Python's mechanics, not the author's choice.
"""

from __future__ import annotations

import ast
import graphlib
import os
import subprocess
import sys
import sysconfig
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest

import infra.build.layers as layers
from infra.local.server import API_MODULE
from infra.local.stack import APPLICATION_FUNCTIONS, WORKFLOW_FUNCTIONS

ROOT = Path(__file__).resolve().parents[2]
SOURCES_OF_THE_LAYER = ROOT / "layers" / "core" / "script_to_film"
SOURCES = {
    SOURCES_OF_THE_LAYER: "script_to_film",
    ROOT / "stf": "stf",
    ROOT / "functions": "functions",
    ROOT / "infra": "infra",
    ROOT / "bench": "bench",
    ROOT / "tests": "tests",
}
"""Every folder of Python in the project, and the package it is imported as."""

DYNAMIC_IMPORTS: dict[str, set[str]] = {
    "infra.local.stack": {*WORKFLOW_FUNCTIONS.values(), *APPLICATION_FUNCTIONS.values()},
    "infra.local.server": {API_MODULE},
}
"""Modules loaded by a name held in a variable: the handlers the local stack dispatches to, and
the API module `stf serve` imports afresh for each of its instances."""
OUTSIDE_THE_LAYER = ("stf", "infra", "functions", "bench", "tests")
"""What no module of the Lambda layer may import: the command line, the local stack (and the CDK
app), the handlers' own asset, the benchmark and the tests."""

Kind = Literal["module", "lazy", "type_checking", "dynamic"]


@dataclass(frozen=True)
class Import:
    module: str
    line: int
    kind: Kind


@dataclass(frozen=True)
class Scanned:
    imports: list[Import]
    unresolved: list[int]
    """Lines of `import_module(…)`-like calls whose name is not a literal."""


def modules_under(folder: Path, package: str) -> dict[str, Path]:
    """Module name → file, for every `.py` under `folder` (imported as `package`)."""
    found: dict[str, Path] = {}
    for path in sorted(folder.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        parts = [package, *path.relative_to(folder).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def project_modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for folder, package in SOURCES.items():
        found.update(modules_under(folder, package))
    return found


def import_graph() -> dict[str, set[str]]:
    """Module → the project's modules it imports, every kind counted, dynamic ones included."""
    modules = project_modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        scanned = imports_of(path, module, modules)
        assert not scanned.unresolved or module in DYNAMIC_IMPORTS, (
            f"{module}:{scanned.unresolved[0]}: a dynamic import that DYNAMIC_IMPORTS does not declare"
        )
        targets = {found.module for found in scanned.imports} | DYNAMIC_IMPORTS.get(module, set())
        graph[module] = {target for target in targets if target in modules and target != module}
    return graph


_DYNAMIC_CALLS = {"import_module", "find_spec", "__import__"}


def imports_of(path: Path, module: str, known: Mapping[str, Path]) -> Scanned:
    """Every import a file makes: module-level, inside functions (lazy), under TYPE_CHECKING,
    and importlib.import_module / importlib.util.find_spec / __import__ with a literal string.
    Relative imports are resolved against `module`. `from pkg import name` is an import of
    `pkg.name` when that is a module of `known`, else of `pkg`."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    imports: list[Import] = []
    unresolved: list[int] = []

    def visit(node: ast.AST, kind: Kind) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            kind = "lazy" if kind == "module" else kind
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, "type_checking")
            for child in node.orelse:
                visit(child, kind)
            return
        if isinstance(node, ast.Import):
            imports.extend(Import(alias.name, node.lineno, kind) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parent, *([node.module] if node.module else [])])
            for alias in node.names:
                target = f"{base}.{alias.name}"
                imports.append(Import(target if target in known else base, node.lineno, kind))
        elif isinstance(node, ast.Call) and _called_name(node.func) in _DYNAMIC_CALLS:
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                imports.append(Import(first.value, node.lineno, "dynamic"))
            else:
                unresolved.append(node.lineno)
        for child in ast.iter_child_nodes(node):
            visit(child, kind)

    visit(tree, "module")
    return Scanned(imports, unresolved)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _called_name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def names(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == prefix or module.startswith(f"{prefix}.") for prefix in prefixes)


# (a) The layer imports neither the command line nor the local stack ---------------------------------


def test_no_lambda_module_imports_the_cli_or_the_local_stack(tmp_path: Path) -> None:
    """Checked over the layer as built (`make layers` copies this folder), so it checks what ships,
    and over `functions/`, the Lambdas' other asset."""
    package = layers.copy_core(tmp_path / "python")
    shipped = modules_under(package, package.name)
    handlers = modules_under(ROOT / "functions", "functions")
    wrong: list[str] = []
    for modules, outside in ((shipped, OUTSIDE_THE_LAYER), (handlers, ("stf", "infra"))):
        for module, path in modules.items():
            scanned = imports_of(path, module, modules)
            if modules is shipped:
                wrong += [f"{module}:{line}: a dynamic import" for line in scanned.unresolved]
            wrong += [
                f"{module}:{found.line}: imports {found.module} ({found.kind})"
                for found in scanned.imports
                if names(found.module, outside)
            ]
    assert not wrong, "\n".join(dict.fromkeys(wrong))


def test_the_layer_imports_on_its_own(tmp_path: Path) -> None:
    """Every module of the built layer imports with nothing of the project but the layer on the
    path: `-S` keeps the editable install's path hook from making `stf` or `infra` importable."""
    package = layers.copy_core(tmp_path / "python")
    shipped = sorted(modules_under(package, package.name))
    path = [str(tmp_path / "python"), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    code = f"import importlib, sys; sys.path[:0] = {path!r}\nfor m in {shipped!r}: importlib.import_module(m)"
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-S", "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


# (b) No import circle anywhere ------------------------------------------------------------------------


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected sets of more than one module (Tarjan's algorithm), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in sorted(graph.get(module, ())):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            members = []
            while (member := stack.pop()) != module:
                members.append(member)
            if members:
                found.append(sorted([module, *members]))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_no_import_closes_a_circle() -> None:
    """Lazy imports count (they only hide a circle from the interpreter), TYPE_CHECKING ones too
    (mypy follows them), and so do the local stack's dynamic ones (`stf serve` reaches
    `functions.api` only through one), which must name modules of the project."""
    modules = project_modules()
    for importer, targets in DYNAMIC_IMPORTS.items():
        assert importer in modules and targets <= set(modules), f"{importer} loads {sorted(targets)}"
    graph = import_graph()
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as error:
        sets = "\n".join(f"  {{{', '.join(members)}}}" for members in circles(graph))
        circle = " -> ".join(error.args[1])
        raise AssertionError(f"an import circle: {circle}\nthe modules in circles:\n{sets}") from None


# (c) Layering: dependencies point one way ----------------------------------------------------------

LAYER = "script_to_film"
ROLES: dict[str, tuple[str, ...]] = {
    "domain": ("domain",),
    "workflow": ("workflow", "domain"),
    "services": ("services", "workflow", "domain"),
    "adapters": ("adapters", "domain"),
    "api": ("api", "services", "workflow", "domain", "runtime"),
    "runtime": ("runtime", "api", "services", "workflow", "adapters", "domain"),
}
"""A role of the layer → the roles its modules may import. The workflow never calls a service; the
domain, the workflow and the services reach I/O only through the ports the adapters implement."""

PURE_ROLES = ("domain", "workflow", "services")
IO_LIBRARIES = (
    "boto3",
    "botocore",
    "anthropic",
    "runwayml",
    "httpx",
    "httpcore",
    "imageio_ffmpeg",
    "moto",
    "subprocess",
    "socket",
    "aws_lambda_powertools",
)
"""What only an adapter (or the composition root, `runtime`) may import."""


def role_of(module: str) -> str | None:
    """`script_to_film.<role>[.…]` → the role; None for the package itself or a module of none."""
    parts = module.split(".")
    return parts[1] if parts[0] == LAYER and len(parts) > 1 and parts[1] in ROLES else None


def test_every_module_of_the_layer_has_a_role() -> None:
    layer = modules_under(SOURCES_OF_THE_LAYER, LAYER)
    without = sorted(module for module in layer if module != LAYER and role_of(module) is None)
    assert not without, f"modules outside {sorted(ROLES)}: {without}"


def test_each_role_imports_only_the_roles_below_it() -> None:
    layer = modules_under(SOURCES_OF_THE_LAYER, LAYER)
    wrong = []
    for module, path in layer.items():
        role = role_of(module)
        if role is None:
            continue
        for found in imports_of(path, module, layer).imports:
            target = role_of(found.module)
            if names(found.module, (LAYER,)) and found.module != LAYER and target not in ROLES[role]:
                wrong.append(f"{module}:{found.line}: {role} imports {found.module} ({found.kind})")
            if role in PURE_ROLES and names(found.module, IO_LIBRARIES):
                wrong.append(f"{module}:{found.line}: {role} imports {found.module} ({found.kind})")
    assert not wrong, "\n".join(dict.fromkeys(wrong))


# (d) Cold start stays lean --------------------------------------------------------------------------

HEAVY = (
    "script_to_film.adapters.media",
    "script_to_film.adapters.claude",
    "imageio_ffmpeg",
    "anthropic",
    "runwayml",
)


@pytest.mark.parametrize("handler", ["functions.scene_check", "functions.load_shots"])
def test_a_polling_lambda_loads_neither_ffmpeg_nor_the_sdks(handler: str) -> None:
    """The backend loads media and Claude on first use, and the provider registry each provider."""
    code = f"import sys, {handler}; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"

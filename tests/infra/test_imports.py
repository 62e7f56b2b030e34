"""Which module may import which, checked by parsing every import of the project.

An import counts wherever it is written: at module level, inside a function (a lazy import), under
`if TYPE_CHECKING:`, and `importlib.import_module` / `importlib.util.find_spec` / `__import__`
with a literal name. The implicit import of a module's parent packages does not count:
that is Python's mechanics, not the author's choice.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import sysconfig
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import infra.build.layers as layers

ROOT = Path(__file__).resolve().parents[2]
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


def test_no_module_in_the_layer_imports_the_cli_or_the_local_stack(tmp_path: Path) -> None:
    """Checked over the layer as built (`make layers` copies this folder), so it checks what ships."""
    package = layers.copy_core(tmp_path / "python")
    shipped = modules_under(package, package.name)
    wrong = []
    for module, path in shipped.items():
        scanned = imports_of(path, module, shipped)
        wrong += [f"{module}:{line}: a dynamic import" for line in scanned.unresolved]
        wrong += [
            f"{module}:{found.line}: imports {found.module} ({found.kind})"
            for found in scanned.imports
            if names(found.module, OUTSIDE_THE_LAYER)
        ]
    assert not wrong, "\n".join(wrong)


def test_no_handler_imports_the_cli_or_the_local_stack() -> None:
    """`functions/` is the other Lambda asset."""
    handlers = modules_under(ROOT / "functions", "functions")
    wrong = [
        f"{module}:{found.line}: imports {found.module} ({found.kind})"
        for module, path in handlers.items()
        for found in imports_of(path, module, handlers).imports
        if names(found.module, ("stf", "infra"))
    ]
    assert not wrong, "\n".join(wrong)


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

"""Enforce the import layers and the no-I/O rule of docs/style.md with ``ast``."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("hazard_models", "assets", "resilience", "flows")
# Which of our packages each package may import (style.md, "Layers").
ALLOWED = {
    "hazard_models": set(),
    "assets": {"hazard_models"},
    "resilience": {"hazard_models", "assets"},
    "flows": {"hazard_models", "assets", "resilience"},
}
# decisions.md D3: the CLI is the composition root and may import flows inside commands.
LAZY_FLOW_IMPORTERS = {"resilience/cli.py"}
PURE_PACKAGES = ("hazard_models", "assets")
IO_IMPORTS = {"prefect", "sqlalchemy", "requests", "httpx", "fsspec", "urllib", "socket"}
IO_CALLS = {
    "open",
    "open_dataset",
    "open_mfdataset",
    "to_netcdf",
    "to_zarr",
    "read_file",
    "to_file",
    "read_csv",
    "to_csv",
    "getenv",
    "mkdir",
    "write_text",
    "read_text",
}
FORBIDDEN_MODULE_NAMES = {"warnings", "utils", "helpers", "common", "misc", "core"}


def python_files(package):
    return sorted((ROOT / package).rglob("*.py"))


def imported_roots(tree):
    """Yield (root module name, node, inside_function) for every import in ``tree``."""
    parents = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node

    def in_function(node):
        while node in parents:
            node = parents[node]
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                return True
        return False

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0], node, in_function(node)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0], node, in_function(node)


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_only_go_down_the_layers(package):
    problems = []
    for path in python_files(package):
        relative = path.relative_to(ROOT).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for root, node, lazy in imported_roots(tree):
            if root not in PACKAGES or root == package:
                continue
            if root in ALLOWED[package]:
                continue
            if root == "flows" and relative in LAZY_FLOW_IMPORTERS and lazy:
                continue
            problems.append(f"{relative}:{node.lineno} imports {root}")
    assert problems == [], "imports that go up the layers:\n" + "\n".join(problems)


@pytest.mark.parametrize("package", [p for p in PACKAGES if p != "flows"])
def test_only_flows_import_prefect(package):
    offenders = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in python_files(package)
        for root, node, _ in imported_roots(ast.parse(path.read_text(encoding="utf-8")))
        if root == "prefect"
    ]
    assert offenders == []


@pytest.mark.parametrize("package", PURE_PACKAGES)
def test_pure_packages_do_no_io(package):
    problems = []
    for path in python_files(package):
        relative = path.relative_to(ROOT).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for root, node, _ in imported_roots(tree):
            if root in IO_IMPORTS:
                problems.append(f"{relative}:{node.lineno} imports {root}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                if name in IO_CALLS:
                    problems.append(f"{relative}:{node.lineno} calls {name}()")
            if isinstance(node, ast.Attribute) and node.attr == "environ":
                problems.append(f"{relative}:{node.lineno} reads os.environ")
    assert problems == [], "I/O in a pure package:\n" + "\n".join(problems)


def test_no_module_has_a_forbidden_name():
    bad = [
        str(path.relative_to(ROOT))
        for package in PACKAGES
        for path in python_files(package)
        if path.stem in FORBIDDEN_MODULE_NAMES
    ]
    assert bad == []


def test_importing_the_library_does_not_import_prefect_or_heavy_modules():
    modules = []
    for package in ("hazard_models", "assets", "resilience"):
        for path in python_files(package):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules.append(".".join(parts))
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print('prefect' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == "False"


def test_cli_start_up_stays_light():
    code = (
        "import sys\nimport resilience.cli\n"
        "heavy = [m for m in ('prefect', 'scipy.stats', 'geopandas', 'matplotlib', 'xclim')"
        " if m in sys.modules]\nprint(heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == "[]"

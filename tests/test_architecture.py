"""Enforce the import layers, the subpackage map and the no-I/O rule of docs/style.md with ``ast``.

The package layers and the subpackage map are in docs/design.md ("Packages"); the reasons in
docs/decisions.md (D3, D24).
"""

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
LAZY_FLOW_IMPORTERS = {"resilience/cli/main.py"}
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
# Which subpackages (units) of one package each unit may import (docs/design.md, "Packages").
# A unit is a subpackage, or the package's top-level modules (named by the package itself);
# ``hazard_models.ensemble_stats`` is a top-level module that sits above ``extremes``.
UNIT_ALLOWED = {
    "hazard_models": set(),
    "hazard_models.extremes": {"hazard_models"},
    "hazard_models.ensemble_stats": {"hazard_models", "hazard_models.extremes"},
    "hazard_models.heat": {
        "hazard_models",
        "hazard_models.extremes",
        "hazard_models.ensemble_stats",
    },
    "hazard_models.rain": {
        "hazard_models",
        "hazard_models.extremes",
        "hazard_models.ensemble_stats",
    },
    "hazard_models.coast": {"hazard_models", "hazard_models.extremes"},
    "resilience": set(),
    "resilience.storage": {"resilience"},
    "resilience.geodata": {"resilience", "resilience.storage"},
    "resilience.climate": {"resilience", "resilience.storage", "resilience.geodata"},
    "resilience.sample": {
        "resilience",
        "resilience.storage",
        "resilience.geodata",
        "resilience.climate",
    },
    "resilience.hazards": {
        "resilience",
        "resilience.storage",
        "resilience.climate",
        "resilience.geodata",
    },
    "resilience.coast": {
        "resilience",
        "resilience.storage",
        "resilience.geodata",
        "resilience.sample",
    },
    "resilience.fitting": {"resilience", "resilience.storage"},
    "resilience.observed": {"resilience", "resilience.storage", "resilience.geodata"},
    "resilience.feasibility": {
        "resilience",
        "resilience.storage",
        "resilience.geodata",
        "resilience.sample",
    },
    "resilience.early_warning": {"resilience", "resilience.storage", "resilience.geodata"},
    "resilience.api": {
        "resilience",
        "resilience.storage",
        "resilience.geodata",
        "resilience.early_warning",
        "resilience.feasibility",
        "resilience.web",
    },
    "resilience.web": {
        "resilience",
        "resilience.storage",
        "resilience.geodata",
        "resilience.early_warning",
    },
}
#: The composition root may import every unit of its package.
UNIT_ROOTS = {"resilience.cli"}
TOP_LEVEL_UNITS = {"hazard_models.ensemble_stats"}
#: Longest module allowed (lines); split at a seam beyond it (issue 11).
MAX_MODULE_LINES = 500
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


def module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def first_party_modules():
    return {module_name(path): path for package in PACKAGES for path in python_files(package)}


def import_graph():
    """Return {module: {imported first-party modules}}, lazy imports included.

    ``from a.b import c`` depends on ``a.b.c`` when that is a module, else on ``a.b``; a
    parent package's ``__init__`` is not an edge (importing a submodule of a package does not
    make the submodule depend on what the package re-exports).
    """
    modules = first_party_modules()
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                edges.update(alias.name for alias in node.names if alias.name in modules)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                for alias in node.names:
                    if f"{source}.{alias.name}" in modules:
                        edges.add(f"{source}.{alias.name}")
                    elif source in modules:
                        edges.add(source)
        edges.discard(name)
        graph[name] = edges
    return graph


def strongly_connected(graph):
    """Tarjan's algorithm: the strongly connected components of ``graph`` (iterative)."""
    index, low, on_stack, stack, components, counter = {}, {}, set(), [], [], [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = counter[0]
                counter[0] += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return components


def test_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert [c for c in strongly_connected(graph) if len(c) > 1] == [["a", "b", "c"]]


def test_no_import_cycles_between_modules():
    cycles = [c for c in strongly_connected(import_graph()) if len(c) > 1]
    assert cycles == [], "modules that import each other (directly or round a loop):\n" + (
        "\n".join(" <-> ".join(c) for c in cycles)
    )


def unit_of(module):
    """Return the unit of ``module``: its subpackage, or its package for top-level modules."""
    parts = module.split(".")
    if module in TOP_LEVEL_UNITS:
        return module
    if len(parts) >= 3 or (len(parts) == 2 and (ROOT / parts[0] / parts[1]).is_dir()):
        return ".".join(parts[:2])
    return parts[0]


def test_every_subpackage_has_a_place_in_the_map():
    units = {
        unit_of(m)
        for m in first_party_modules()
        if m.split(".")[0] in ("hazard_models", "resilience")
    }
    unknown = sorted(units - set(UNIT_ALLOWED) - UNIT_ROOTS - {"resilience.data"})
    assert unknown == [], f"add these subpackages to UNIT_ALLOWED and docs/design.md: {unknown}"


def test_subpackages_import_only_the_units_below_them():
    problems = []
    for module, edges in import_graph().items():
        unit = unit_of(module)
        if unit not in UNIT_ALLOWED:
            continue
        for target in edges:
            other = unit_of(target)
            if other == unit or other.split(".")[0] != unit.split(".")[0]:
                continue
            if other not in UNIT_ALLOWED[unit]:
                problems.append(f"{module} ({unit}) imports {target} ({other})")
    assert problems == [], "imports that break the subpackage map:\n" + "\n".join(sorted(problems))


def test_every_package_starts_with_a_docstring_that_says_what_lives_there():
    short = []
    for package in PACKAGES:
        for init in sorted((ROOT / package).rglob("__init__.py")):
            if "data" in init.relative_to(ROOT).parts:
                continue
            doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
            if len(doc.split()) < 12:
                short.append(str(init.relative_to(ROOT)))
    assert short == [], f"packages without a docstring of a few lines: {short}"


def test_modules_stay_small():
    long = []
    for package in PACKAGES:
        for path in python_files(package):
            lines = path.read_text(encoding="utf-8").count("\n")
            if lines > MAX_MODULE_LINES:
                long.append(f"{path.relative_to(ROOT)} ({lines} lines)")
    assert long == [], f"modules over {MAX_MODULE_LINES} lines, split at a seam: {long}"


def test_tests_mirror_the_package_layout():
    strays = []
    for package in ("hazard_models", "assets", "resilience", "flows"):
        for folder in sorted(p for p in (ROOT / "tests" / package).rglob("*") if p.is_dir()):
            relative = folder.relative_to(ROOT / "tests")
            if "__pycache__" in relative.parts:
                continue
            if not (ROOT / relative).is_dir():
                strays.append(str(relative))
    assert strays == [], f"test folders with no package folder of the same path: {strays}"

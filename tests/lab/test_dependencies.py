"""Dependencies exact: every third-party import is declared in pyproject.toml, every declared package imported.

The product (lab/, writer/, tasks.py) may import only `[project] dependencies`; the tests may also import the
`test` extra. Imports are read with ast, so those inside function bodies count; an import's distribution is
found through the installed metadata (`yaml` belongs to PyYAML, `docx` to python-docx, `PIL` to pillow).
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = [ROOT / "lab", ROOT / "writer", ROOT / "tasks.py"]
TESTS = [ROOT / "tests"]
# Our own top-level packages: the library, the writer, tasks.py and the tests (a package: tests.lab ...).
LOCAL = {"lab", "writer", "tasks", "tests"}
#: Test-extra packages that are run as a command, never imported, each with the test that runs it.
COMMANDS = {"ruff": "tests/lab/test_lint.py"}


def _name(requirement: str) -> str:
    """The distribution's normalised name (PEP 503) from a requirement such as 'cassandra-driver>=3.29'."""
    return re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9._-]+", requirement).group(0)).lower()


def declared() -> tuple[set[str], set[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return ({_name(r) for r in project["dependencies"]},
            {_name(r) for r in project["optional-dependencies"]["test"]})


def imported_modules(roots: list[Path]) -> dict[str, Path]:
    """Top-level names of every absolute import under ``roots`` (first file seen for each)."""
    found: dict[str, Path] = {}
    for root in roots:
        for path in [root] if root.is_file() else sorted(root.rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    found.setdefault(name.split(".")[0], path)
    return found


def third_party(modules: dict[str, Path]) -> dict[str, Path]:
    return {m: p for m, p in modules.items() if m not in sys.stdlib_module_names and m not in LOCAL}


def distributions_of(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Normalised distribution names per module; a module no installed distribution provides maps to {}."""
    provided = metadata.packages_distributions()
    return {m: {_name(d) for d in provided.get(m, [])} for m in modules}


def test_every_product_import_is_a_declared_runtime_dependency():
    runtime, _ = declared()
    modules = third_party(imported_modules(PRODUCT))
    undeclared = {m: f"{modules[m].relative_to(ROOT)} (from {sorted(d) or 'nothing installed'})"
                  for m, d in distributions_of(modules).items() if not d & runtime}
    assert not undeclared, f"imported by the product but not in [project] dependencies: {undeclared}"


def test_every_test_import_is_declared():
    runtime, test = declared()
    modules = third_party(imported_modules(TESTS))
    undeclared = {m: f"{modules[m].relative_to(ROOT)} (from {sorted(d) or 'nothing installed'})"
                  for m, d in distributions_of(modules).items() if not d & (runtime | test)}
    assert not undeclared, f"imported by the tests but declared nowhere: {undeclared}"


def test_every_declared_package_is_imported_where_it_is_declared():
    runtime, test = declared()
    used_by_product = set().union(*distributions_of(third_party(imported_modules(PRODUCT))).values())
    used_by_tests = set().union(*distributions_of(third_party(imported_modules(TESTS))).values())
    assert runtime - used_by_product == set(), "declared in [project] dependencies, imported by no product module"
    assert test - used_by_tests - set(COMMANDS) == set(), "declared in the test extra, imported by no test"
    for package, runner in COMMANDS.items():  # a tool declared for a command must be run by that command
        assert package in test and f"-m\", \"{package}\"" in (ROOT / runner).read_text(), (package, runner)


def test_the_check_sees_imports_inside_functions_and_maps_distributions(tmp_path):
    # The check itself can fail: a lazy import inside a function is found and mapped to its distribution.
    source = tmp_path / "lazy.py"
    source.write_text("def render():\n    import yaml\n    from docx import Document\n")
    modules = third_party(imported_modules([source]))
    assert set(modules) == {"yaml", "docx"}
    assert distributions_of(modules) == {"yaml": {"pyyaml"}, "docx": {"python-docx"}}

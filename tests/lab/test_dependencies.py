"""Dependencies exact: every third-party import is declared in pyproject.toml, every declared package imported,
each where its part of the install says, and constraints.txt pins exactly what they resolve to.

The product (lab/, writer/, tasks.py) may import `[project] dependencies` (the core) and the packages of the
`plots` and `report` extras, each of those only through lab.extras, which names its extra (EXTRA_OF); the tests
may also import the `test` extra. Imports are read with ast, so those inside function bodies count; an import's
distribution is found through the installed metadata (`yaml` belongs to PyYAML, `docx` to python-docx, `PIL` to
pillow).
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from lab import extras

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = [ROOT / "lab", ROOT / "writer", ROOT / "tasks.py"]
TESTS = [ROOT / "tests"]
# Our own top-level packages: the library, the writer, tasks.py and the tests (a package: tests.lab ...).
LOCAL = {"lab", "writer", "tasks", "tests"}
#: Test-extra packages that are run as a command, never imported, each with the test that runs it.
COMMANDS = {"ruff": "tests/lab/test_lint.py", "mypy": "tests/lab/test_types.py"}


def _name(requirement: str) -> str:
    """The distribution's normalised name (PEP 503) from a requirement such as 'cassandra-driver>=3.29'."""
    return re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9._-]+", requirement).group(0)).lower()


#: The project's own distribution: the test extra names it to pull in the other extras.
PROJECT = "cassandra-kind-lab"
#: The extras the product imports from (through lab.extras); the test extra is the tests'.
PRODUCT_EXTRAS = ("plots", "report")


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def extras_declared() -> dict[str, set[str]]:
    """Each extra's own packages (a requirement of the project itself, ``PROJECT[plots,report]``, left out)."""
    return {extra: {_name(r) for r in requirements if _name(r) != PROJECT}
            for extra, requirements in _project()["optional-dependencies"].items()}


def declared() -> tuple[set[str], set[str]]:
    """The product's packages (the core and its extras) and the test extra's."""
    optional = extras_declared()
    return ({_name(r) for r in _project()["dependencies"]}.union(*(optional[e] for e in PRODUCT_EXTRAS)),
            optional["test"])


def imported_modules(roots: list[Path]) -> dict[str, Path]:
    """Top-level names of every absolute import under ``roots`` (first file seen for each), an optional
    package's through lab.extras (``extras.load("matplotlib.figure", ...)``) included."""
    found: dict[str, Path] = {}
    for root in roots:
        for path in [root] if root.is_file() else sorted(root.rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                elif _through_extras(node):
                    names = [node.args[0].value]
                else:
                    continue
                for name in names:
                    found.setdefault(name.split(".")[0], path)
    return found


def _through_extras(node: ast.AST) -> bool:
    """``extras.load("name", ...)`` or ``extras.require("name", ...)``: an import by a name in a string."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "extras"
            and node.func.attr in ("load", "require") and bool(node.args)
            and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str))


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
    assert runtime - used_by_product == set(), "declared for the product, imported by no product module"
    assert test - used_by_tests - set(COMMANDS) == set(), "declared in the test extra, imported by no test"
    for package, runner in COMMANDS.items():  # a tool declared for a command must be run by that command
        assert package in test and f"-m\", \"{package}\"" in (ROOT / runner).read_text(), (package, runner)


def test_the_check_sees_imports_inside_functions_and_maps_distributions(tmp_path):
    # The check itself can fail: a lazy import inside a function is found and mapped to its distribution.
    source = tmp_path / "lazy.py"
    source.write_text("def render():\n    import yaml\n    from docx import Document\n"
                      "    return extras.load('matplotlib.figure', needed_by='a picture')\n")
    modules = third_party(imported_modules([source]))
    assert set(modules) == {"yaml", "docx", "matplotlib"}
    assert distributions_of(modules) == {"yaml": {"pyyaml"}, "docx": {"python-docx"}, "matplotlib": {"matplotlib"}}


def test_each_optional_import_is_named_with_the_extra_pyproject_puts_it_in():
    """lab.extras.EXTRA_OF (which the one-line "needs the X extra" error reads) agrees with pyproject.toml, and
    covers every package of the product's extras; the core declares none of them."""
    optional = extras_declared()
    core = {_name(r) for r in _project()["dependencies"]}
    owners = distributions_of(dict.fromkeys(extras.EXTRA_OF, ROOT))
    assert {module: {e for e in PRODUCT_EXTRAS if owners[module] & optional[e]} for module in extras.EXTRA_OF} == {
        module: {extra} for module, extra in extras.EXTRA_OF.items()}
    assert set().union(*owners.values()) == optional["plots"] | optional["report"]
    assert not core & (optional["plots"] | optional["report"])
    assert f"{PROJECT}[{','.join(PRODUCT_EXTRAS)}]" in _project()["optional-dependencies"]["test"]  # CI runs all


def test_optional_packages_are_imported_only_inside_functions_or_by_their_renderer():
    """A top-level import of an extra's package would make its module fail on a core install: only
    lab/report/to_docx.py, which is imported after lab.extras found python-docx, has one."""
    top_level = set()
    for path in [p for root in PRODUCT for p in ([root] if root.is_file() else sorted(root.rglob("*.py")))]:
        for node in ast.parse(path.read_text()).body:
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            if any(n.split(".")[0] in extras.EXTRA_OF for n in names):
                top_level.add(str(path.relative_to(ROOT)))
    assert top_level == {"lab/report/to_docx.py"}


def _closure() -> dict[str, metadata.Distribution]:
    """The installed distributions cassandra-kind-lab[test] resolves to, markers evaluated here."""
    found: dict[str, metadata.Distribution] = {}
    todo = [(Requirement(f"{PROJECT}[test]"), "")]
    seen_extras: set[tuple[str, str]] = set()
    while todo:
        requirement, parent_extra = todo.pop()
        name = canonicalize_name(requirement.name)
        if requirement.marker and not requirement.marker.evaluate({"extra": parent_extra}):
            continue
        dist = found.get(name) or metadata.distribution(requirement.name)
        found[name] = dist
        for extra in [""] + sorted(requirement.extras):
            if (name, extra) in seen_extras:
                continue
            seen_extras.add((name, extra))
            todo += [(Requirement(r), extra) for r in dist.requires or []]
    found.pop(PROJECT)
    return found


def _pins() -> dict[str, str]:
    lines = [line.strip() for line in (ROOT / "constraints.txt").read_text().splitlines()]
    pins = dict(line.split("==") for line in lines if line and not line.startswith("#"))
    return {canonicalize_name(name): version for name, version in pins.items()}


def test_constraints_pin_exactly_the_dependency_tree_within_pyprojects_bounds():
    """constraints.txt (CI installs through it) pins every package of cassandra-kind-lab[test]'s tree and
    nothing else, each at a version pyproject.toml's own bounds allow; else it needs a refresh (README)."""
    pins = _pins()
    closure = _closure()
    assert "matplotlib" in closure and "invoke" in closure and "idna" in closure  # the tree, extras included
    assert sorted(set(closure) - set(pins)) == [], "installed with the project but not pinned: refresh constraints.txt"
    assert sorted(set(pins) - set(closure)) == [], "pinned but no longer a dependency: refresh constraints.txt"
    optional = _project()["optional-dependencies"]
    for requirement in map(Requirement, _project()["dependencies"] + [r for rs in optional.values() for r in rs]):
        name = canonicalize_name(requirement.name)
        if name != PROJECT:
            assert requirement.specifier.contains(pins[name]), (str(requirement), pins[name])


def test_the_ci_installs_through_the_constraints():
    assert "pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'" in (
        ROOT / ".ci/run").read_text()

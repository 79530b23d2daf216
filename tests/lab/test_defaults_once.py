"""Every configuration default is written once, where the model declares it (lab/config.py for invoke.yaml's
``lab:`` tree, writer/config.py for the writer): elsewhere the code reads it from there (``VerifyGroup.consistency``,
``cfg.verify.request_timeout``), so changing a default is one edit and no caller keeps the old value."""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lab.config import LabSettings

ROOT = Path(__file__).resolve().parents[2]


def _settings(cls: type = LabSettings) -> Iterator[tuple[str, Any]]:
    """(name, default) of every setting of the model, group by group."""
    for f in dataclasses.fields(cls):
        if "group" in f.metadata:
            yield from _settings(f.metadata["group"])
        else:
            yield f.name, f.default


#: Defaults too plain to be told apart from other uses of the same word ("" and False: unset; 0 and 1).
PLAIN = ("", False, True, 0, 1, ())
DEFAULTS = {(name, default) for name, default in _settings() if default not in PLAIN}


def _literal(node: ast.AST | None) -> Any:
    try:
        return ast.literal_eval(node) if node is not None else None
    except ValueError:
        return None


def _restated(tree: ast.AST) -> Iterator[tuple[int, str, Any]]:
    """(line, name, value) wherever a literal equal to a setting's default is the default of that setting's
    name: a parameter's default, ``.get(name, fallback)``, an assignment (a dataclass field's default)."""
    for node in ast.walk(tree):
        bound: list[tuple[str, ast.AST | None]] = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            positional = args.posonlyargs + args.args
            with_default = positional[len(positional) - len(args.defaults):]
            bound += [(a.arg, d) for a, d in zip(with_default, args.defaults, strict=True)]
            bound += [(a.arg, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None]
        elif isinstance(node, ast.Call):  # a keyword argument is a choice (the lesson's mode="robust"), not a default
            if isinstance(node.func, ast.Attribute) and node.func.attr == "get" and len(node.args) == 2:
                key = _literal(node.args[0])
                if isinstance(key, str):
                    bound.append((key, node.args[1]))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            bound.append((node.target.id, node.value))
        elif isinstance(node, ast.Assign):
            bound += [(t.id, node.value) for t in node.targets if isinstance(t, ast.Name)]
        for name, value in bound:
            literal = _literal(value)
            if isinstance(literal, (str, int, float)) and (name, literal) in DEFAULTS:
                yield node.lineno, name, literal


def _sources(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py")) + [ROOT / "tasks.py"]


def test_the_model_knows_the_defaults_this_test_looks_for():
    assert {("consistency", "QUORUM"), ("request_timeout", 120), ("interval", 30.0)} <= DEFAULTS


def test_no_configuration_default_is_written_again_outside_the_model():
    again = [f"{path.relative_to(ROOT)}:{line}: {name}={value!r}"
             for path in _sources("lab") if path != ROOT / "lab/config.py"
             for line, name, value in _restated(ast.parse(path.read_text()))]
    assert again == [], "read these from lab.config's model instead:\n" + "\n".join(again)


def _string_constants(path: Path) -> list[str]:
    return [node.value for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def test_the_consistency_default_and_the_keyspace_are_each_written_in_one_module():
    """Spelled anywhere else, a literal "QUORUM" is a fallback someone wrote again; the keyspace is the lab's
    (lab/cassandra.py) and the writer's (writer/config.py: the writer has no dependency on lab/)."""
    where: dict[str, set[str]] = {"QUORUM": set(), "ece573": set()}
    for path in _sources("lab") + sorted((ROOT / "writer").rglob("*.py")):
        for text in _string_constants(path):
            if text in where:
                where[text].add(str(path.relative_to(ROOT)))
    assert where["QUORUM"] - {"writer/config.py", "writer/seed.py"} == {"lab/config.py"}  # writer: level lists
    assert where["ece573"] == {"lab/cassandra.py", "writer/config.py"}

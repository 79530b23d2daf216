"""Where a setting's value came from, named as the user typed it: a file and line, an env var, a flag.

invoke merges its layers (defaults, the collection's, system/user/project files, INVOKE_* env vars, the ``-f``
file, overrides from its own flags) into one tree and keeps each layer apart beside it (``Config._project``,
``._env``, ``._runtime`` ...). The layer that sets a key last is where its value came from; the merged tree
cannot say, so this module asks the layers, highest first, the way ``Config.merge`` applies them in reverse.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

#: invoke's layers from the one that wins down to the one that loses (Config.merge applies them the other way),
#: each with what it means to the user; the file layers keep their path in ``_<name>_path``.
LAYERS = (("modifications", "code"), ("overrides", "flag"), ("runtime", "file"), ("env", "env"),
          ("project", "file"), ("user", "file"), ("system", "file"), ("collection", "default"),
          ("defaults", "default"))


@dataclass(frozen=True)
class Origin:
    """One setting's source: ``layer`` is default, file, env, flag or code; ``name`` the file's path, the env
    var or the flag (``--consistency``); ``keys`` the setting's path (lab, chaos, rounds) for a file's line."""

    layer: str = "default"
    name: str = "default"
    keys: tuple[str, ...] = ()

    @property
    def line(self) -> int | None:
        """The line of the setting's key in its YAML file (None: not a YAML file, or no such key there)."""
        return yaml_line(Path(self.name), self.keys) if self.layer == "file" else None

    def label(self) -> str:
        """Short, for `invoke config`: default, invoke.yaml:44, INVOKE_LAB_CHAOS_ROUNDS, --consistency."""
        if self.layer != "file":
            return self.name
        line = self.line
        return f"{shown_path(self.name)}:{line}" if line else shown_path(self.name)

    def blame(self, key: str, value: Any, problem: str, message: str) -> str:
        """One error line that starts from what the user typed: ``message`` (``key is value; problem``) for a
        file or a default, ``INVOKE_LAB_X=value: problem`` for an env var, ``--flag value: problem`` for a flag."""
        if self.layer == "env":
            return f"{self.name}={shlex.quote(os.environ.get(self.name, str(value)))}: {problem}"
        if self.layer == "flag" and self.name.startswith("--"):
            return f"{self.name} {shlex.quote(str(value))}: {problem}"
        if self.layer == "file":
            line = self.line
            return f"{shown_path(self.name)}{f', line {line}' if line else ''}: {message}"
        return message


def shown_path(path: str) -> str:
    """A file as the user would name it: relative to the working directory when it lies below it."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def origin(config: Any, keys: tuple[str, ...]) -> Origin:
    """Which of ``config``'s (an invoke Config) layers gave ``keys`` (lab, chaos, rounds) its value."""
    for name, layer in LAYERS:
        if _holds(getattr(config, f"_{name}", None) or {}, keys):
            if layer == "env":
                prefix = getattr(config, "_env_prefix", "INVOKE_")
                return Origin("env", prefix + "_".join(keys).upper(), keys)
            if layer == "file":
                return Origin("file", str(getattr(config, f"_{name}_path", None) or name), keys)
            return Origin(layer, layer, keys)
    return Origin(keys=keys)


def _holds(tree: Any, keys: tuple[str, ...]) -> bool:
    """``tree`` sets ``keys``, or a value where one of its groups belongs (``lab: [1, 2]`` sets lab.cluster)."""
    for key in keys:
        if not hasattr(tree, "keys"):
            return True
        if key not in tree:
            return False
        tree = tree[key]
    return True


def yaml_line(path: Path, keys: tuple[str, ...]) -> int | None:
    """The 1-based line of the deepest of ``keys`` found in the YAML file at ``path`` (yaml's node marks)."""
    try:
        node = yaml.compose(path.read_text())
    except (OSError, yaml.YAMLError, ValueError):
        return None
    line = None
    for key in keys:
        if not isinstance(node, yaml.MappingNode):
            break
        found = next(((k, v) for k, v in node.value if getattr(k, "value", None) == key), None)
        if found is None:
            break
        line, node = found[0].start_mark.line + 1, found[1]
    return line

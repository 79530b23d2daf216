"""The image builders the workflow and the tasks call, as one seam: the real recipes by default, fakes in tests.

Each field of ``ImageBuilders`` stands for one recipe's entry point, with its signature:

    cassandra(runner, *, force=False, version=...) -> tag      lab.images.cassandra.ensure_image
    writer(runner, *, force=False, base_image=..., source=PATH) -> tag   lab.images.writer.ensure_image
                                                               (source: a writer directory of your own)
    kind_node(runner, *, force=False) -> tag                   lab.images.kindnode.ensure_image
    tools(runner) -> {"kind": path, "kubectl": path}           lab.images.kindnode.ensure_tools
    registry(runner, *, force=False) -> tag                    lab.images.registry.ensure_image

A ``Lab`` carries one (``lab.builders``); a test passes its own instead of replacing modules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lab.runner import Runner

# The real builders import their recipe on first call, not at the top: a recipe matters only when an image is
# really built (Maven and PyPI for Cassandra, wheels for the writer, Go and kind's sources for the node, Go for the
# registry), so lab.context, lab.workflow and tasks.py load without any of them.


def build_cassandra(runner: Runner, **kwargs) -> str:
    from lab.images import cassandra  # lazy: see above

    return cassandra.ensure_image(runner, **kwargs)


def build_writer(runner: Runner, **kwargs) -> str:
    from lab.images import writer  # lazy: see above

    return writer.ensure_image(runner, **kwargs)


def build_kind_node(runner: Runner, **kwargs) -> str:
    from lab.images import kindnode  # lazy: see above

    return kindnode.ensure_image(runner, **kwargs)


def build_tools(runner: Runner) -> dict[str, str]:
    from lab.images import kindnode  # lazy: see above

    return kindnode.ensure_tools(runner)


def build_registry(runner: Runner, **kwargs) -> str:
    from lab.images import registry  # lazy: see above

    return registry.ensure_image(runner, **kwargs)


@dataclass(frozen=True)
class ImageBuilders:
    """Who builds each image (and kind/kubectl); ``ImageBuilders()`` is the real recipes."""

    cassandra: Callable[..., str] = build_cassandra
    writer: Callable[..., str] = build_writer
    kind_node: Callable[..., str] = build_kind_node
    tools: Callable[[Runner], dict[str, str]] = build_tools
    registry: Callable[..., str] = build_registry

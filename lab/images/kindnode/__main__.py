"""``python -m lab.images.kindnode tools|image [--force]``: build what is missing, print what to use.

``tools`` prints {"kind": path, "kubectl": path} as JSON; ``image`` prints the node image's tag. .ci/run
calls both.
"""

from __future__ import annotations

import json
import sys

from invoke import Context

from lab.errors import LabError
from lab.images.kindnode.node import ensure_image
from lab.images.kindnode.tools import ensure_tools
from lab.runner import Runner


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in ("tools", "image"):
        print("usage: python -m lab.images.kindnode tools|image [--force]", file=sys.stderr)
        return 2
    runner = Runner(Context(), echo=False)
    try:
        if args[0] == "tools":
            print(json.dumps(ensure_tools(runner)))
        else:
            print(ensure_image(runner, force="--force" in args))
    except LabError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

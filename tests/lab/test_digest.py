"""lab.digest.tree_digest: content-addressed tags over small trees in tmp_path."""

import pytest

from lab.digest import tree_digest


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "src"
    (root / "pkg").mkdir(parents=True)
    (root / "Dockerfile").write_text("FROM scratch\n")
    (root / "pkg" / "main.py").write_text("print('hi')\n")
    return root


def test_same_inputs_same_digest(tree):
    first = tree_digest([tree])
    assert len(first) == 12 and int(first, 16) >= 0
    assert tree_digest([tree]) == first
    assert tree_digest([tree / "pkg", tree / "Dockerfile"]) == tree_digest([tree / "Dockerfile", tree / "pkg"])


def test_one_changed_byte_changes_it(tree):
    before = tree_digest([tree])
    (tree / "pkg" / "main.py").write_text("print('ho')\n")
    assert tree_digest([tree]) != before


def test_a_renamed_file_changes_it(tree):
    before = tree_digest([tree])
    (tree / "pkg" / "main.py").rename(tree / "pkg" / "app.py")
    assert tree_digest([tree]) != before


@pytest.mark.parametrize("output", ["pkg/__pycache__/main.cpython-311.pyc", "build/out.bin", "pkg/stale.pyc"])
def test_build_outputs_do_not_change_it(tree, output):
    before = tree_digest([tree])
    (tree / output).parent.mkdir(parents=True, exist_ok=True)
    (tree / output).write_bytes(b"\x00generated")
    assert tree_digest([tree]) == before


def test_extra_strings_change_it(tree):
    plain = tree_digest([tree])
    with_base = tree_digest([tree], extra=("base=debian:bookworm-slim",))
    assert with_base != plain
    assert tree_digest([tree], extra=("base=debian:trixie-slim",)) != with_base
    assert tree_digest([tree], extra=("base=debian:bookworm-slim",)) == with_base


def test_length_is_respected(tree):
    full = tree_digest([tree], length=64)
    assert len(full) == 64
    assert tree_digest([tree], length=20) == full[:20]
    assert tree_digest([tree]) == full[:12]

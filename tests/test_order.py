"""The session's order (tests/conftest.py): the kind tiers last, each group in file order."""

from __future__ import annotations

from tests.conftest import kind_tiers_last


class Item:
    def __init__(self, name: str, cluster: bool):
        self.name, self.cluster = name, cluster

    def get_closest_marker(self, name: str):
        return "marker" if name == "cluster" and self.cluster else None


def test_kind_tiers_run_last_and_each_group_keeps_its_order():
    items = [Item("cluster/a", True), Item("e2e/b", True), Item("images/c", False), Item("lab/d", False),
             Item("writer/e", False)]
    assert [i.name for i in kind_tiers_last(items)] == ["images/c", "lab/d", "writer/e", "cluster/a", "e2e/b"]

"""The driver's contact points: CASSANDRA_SEEDS resolved to addresses, naming every seed that does not resolve.

(Named for the driver's word: "seed" alone also names the assignment's writer mode, writer.seed.)

The driver resolves contact points once, when a Cluster is built, and silently drops a name it cannot
resolve. Behind a headless Service (``cassandra-service``) the addresses change whenever the Cassandra pods are
recreated, so the writer resolves the names itself, logs what they resolve to, and resolves again when it
rebuilds its session.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any


class UnresolvableSeeds(ConnectionError):
    """No seed resolved (DNS may not answer yet: transient). Its message names each seed and the reason."""


@dataclass(frozen=True)
class Resolution:
    points: tuple[tuple[str, int], ...]  # (address, port), in seed order, without duplicates
    failed: tuple[str, ...]  # "name (reason)" of seeds that did not resolve

    def summary(self, seeds: Iterable[tuple[str, int]]) -> str:
        """'cassandra-service -> 10.0.0.5, 10.0.0.6' for the log."""
        addresses = ", ".join(host if ":" not in host else f"[{host}]" for host, _ in self.points)
        names = ",".join(host for host, _ in seeds)
        text = f"{names} -> {addresses}"
        if self.failed:
            text += f" (not resolved: {'; '.join(self.failed)})"
        return text


def resolve(seeds: Iterable[tuple[str, int]], getaddrinfo: Callable[..., list[Any]] = socket.getaddrinfo
            ) -> Resolution:
    """Every address of every seed; raises UnresolvableSeeds when none resolves."""
    points, failed = [], []
    for host, port in seeds:
        if _is_address(host):
            found = [(host, port)]
        else:
            try:
                infos = getaddrinfo(host, port, 0, socket.SOCK_STREAM)
            except (socket.gaierror, UnicodeError, OSError) as err:
                failed.append(f"{host} ({getattr(err, 'strerror', None) or err})")
                continue
            found = [(info[4][0], port) for info in infos]
        for point in found:
            if point not in points:
                points.append(point)
    if not points:
        raise UnresolvableSeeds(f"no seed resolves: {'; '.join(failed)}")
    return Resolution(tuple(points), tuple(failed))


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False

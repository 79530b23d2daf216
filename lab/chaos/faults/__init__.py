"""Faults a chaos round can inflict: one small module per fault type, each registered here by name.

A fault knows how to check its target is healthy (``prepare``), inflict itself (``inject``), undo itself
when it is a timed one (``restore``: ``docker start``, rules removed, SIGCONT, ``docker unpause``, CoreDNS
scaled back; always called, even when the round fails or is interrupted), and wait until the lab is healthy
again (``recover``). The round runner (lab.chaos.round) does the rest the same way for every fault type: sampling
the writer, its restarts, verify.

A new fault type is a module here with a ``Fault`` subclass (lab.chaos.faults.base) and
``@register("name")`` on it, plus its import below: importing a fault's module registers it.
"""

from lab.chaos.faults import allpods, crash, dns, freeze, loss, node, partition, pause, pod  # registers each type
from lab.chaos.faults.base import FAULTS, Fault, make, register

__all__ = ["FAULTS", "Fault", "allpods", "crash", "dns", "freeze", "loss", "make", "node", "partition", "pause", "pod",
           "register"]

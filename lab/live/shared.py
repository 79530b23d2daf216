"""One poller per lab on this machine, however many viewers: ``invoke watch`` in two terminals and ``invoke
dashboard`` cost what one of them does, and ask ``nodetool status`` once per interval between them.

The first viewer to take the lock (``flock`` on a file in a folder only this user can open, one per kube context,
namespace and artifacts folder) runs the collector and writes each pass's snapshot there (a whole file, replaced at
once); every other viewer reads that file and tries the lock on each pass, so when the polling viewer quits, the next
one takes over within a pass. A lock the kernel holds for its process, rather than a pid file, cannot be left
behind by a viewer that was killed. Files, not a socket between the processes: nothing to serve, nothing to find,
and a reader costs a ``stat`` a pass while nothing changed.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import IO

from lab.kubectl import Kubectl
from lab.live.collector import Collector, every
from lab.live.state import Snapshot

#: Seconds without a new snapshot after which a viewer that reads another's says so.
STALE_AFTER = 10.0


def folder_for(kube: Kubectl, artifacts: Path, *, base: Path | None = None) -> Path:
    """The shared folder of the viewers of ``kube``'s lab that read rounds from ``artifacts``: under a folder of
    this user's (mode 0700) in the temporary directory; a private new one when that folder is someone else's."""
    top = (base or Path(tempfile.gettempdir())) / f"lab-live-{os.getuid()}"
    top.mkdir(mode=0o700, exist_ok=True)
    if top.is_symlink() or top.stat().st_uid != os.getuid():
        return Path(tempfile.mkdtemp(prefix="lab-live-"))  # someone else's: not ours to trust, poll alone
    top.chmod(0o700)
    key = hashlib.sha256(f"{kube.context}\0{kube.namespace}\0{artifacts.resolve()}".encode()).hexdigest()[:16]
    folder = top / key
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


class Viewer:
    """What a view reads its state from: ``latest()``. ``make()`` builds the collector, called when this viewer
    becomes the one that polls. ``step()`` is one pass (the tests call it; ``start()`` runs it every ``tick``)."""

    def __init__(self, make: Callable[[], Collector], folder: Path, *, clock: Callable[[], float] = time.time,
                 tick: float = 0.5):
        self.make, self.folder, self.clock, self.tick = make, folder, clock, tick
        self.lock_path, self.state_path = folder / "poller.lock", folder / "snapshot.json"
        self.collector: Collector | None = None
        self._lock_file: IO[str] | None = None
        self._read: tuple[int, Snapshot] | None = None  # (mtime_ns, snapshot) of the file last read
        self._threaded = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def polling(self) -> bool:
        return self.collector is not None

    def _take_lock(self) -> bool:
        handle = self.lock_path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._lock_file = handle
        return True

    def _poller_pid(self) -> str:
        try:
            return self.lock_path.read_text().strip() or "?"
        except OSError:
            return "?"

    def publish(self, snapshot: Snapshot) -> None:
        partial = self.state_path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(snapshot.to_dict()))
        os.replace(partial, self.state_path)

    def _published(self) -> Snapshot:
        """The polling viewer's last snapshot (read again only when the file changed), with a line when it is old."""
        now = self.clock()
        try:
            mtime = self.state_path.stat().st_mtime_ns
            if self._read is None or self._read[0] != mtime:
                self._read = (mtime, Snapshot.from_dict(json.loads(self.state_path.read_text())))
        except (OSError, ValueError, KeyError, TypeError):
            pass  # none yet, or replaced while read: the last one read, or a line saying so
        if self._read is None:
            return Snapshot(at=now, errors=[f"live state: waiting for the first pass of the viewer that polls "
                                            f"(pid {self._poller_pid()})"])
        snap = self._read[1]
        if now - snap.at > STALE_AFTER:
            return replace(snap, errors=snap.errors + [f"live state: nothing new from the viewer that polls (pid "
                                                       f"{self._poller_pid()}) for {now - snap.at:.0f} s"])
        return snap

    def step(self) -> Snapshot:
        """One pass: the collector's when this viewer polls; else the published snapshot, after trying to take over
        the polling (free once the viewer that polled has quit)."""
        if self.collector is None and self._take_lock():
            collector = self.make()
            collector.publish = self.publish
            if self._threaded:
                collector.start()  # its first pass done before the views read it: no empty frame in between
            self.collector, self._read = collector, None
            if self._threaded:
                return collector.latest()
        if self.collector is not None:
            return self.collector.latest() if self._threaded else self.collector.poll()
        return self._published()

    def latest(self) -> Snapshot:
        return self.collector.latest() if self.collector is not None else self._published()

    def start(self) -> Viewer:
        self._threaded = True
        self.step()
        self._thread = every(self.tick, self.step, until=self._stop, name="live-viewer")
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.collector is not None:
            self.collector.stop()
            self.state_path.unlink(missing_ok=True)  # before the lock goes: the next poller's first pass is news
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

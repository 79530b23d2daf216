"""A TCP proxy that delays every byte Cassandra sends back by a fixed time: a slow cluster on demand.

Requests pass at once, answers arrive ``delay`` seconds late (a delay line, not a throttle: throughput is
unchanged). With one node there are no peers to discover, so the driver talks only through the proxy.
"""

from __future__ import annotations

import queue
import socket
import threading
import time


class DelayProxy:
    def __init__(self, target: tuple[str, int], delay: float):
        self.target, self.delay = target, delay
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def seeds(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            lane: queue.Queue = queue.Queue()
            threading.Thread(target=self._read_late, args=(upstream, lane), daemon=True).start()
            threading.Thread(target=self._write_late, args=(lane, client), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            _shut(dst)

    def _read_late(self, src: socket.socket, lane: queue.Queue) -> None:
        try:
            while data := src.recv(65536):
                lane.put((time.monotonic() + self.delay, data))
        except OSError:
            pass
        lane.put((time.monotonic() + self.delay, b""))

    @staticmethod
    def _write_late(lane: queue.Queue, dst: socket.socket) -> None:
        try:
            while True:
                due, data = lane.get()
                time.sleep(max(0.0, due - time.monotonic()))
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            _shut(dst)

    def close(self) -> None:
        self._closed = True
        self.listener.close()
        for sock in self._sockets:
            _shut(sock)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass

"""lab.net.free_port: a port the kernel picked, free to bind right after."""

import socket

from lab.net import free_port


def test_free_port_is_an_unprivileged_port_that_can_be_bound():
    port = free_port()
    assert isinstance(port, int)
    assert 1024 <= port <= 65535
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        assert sock.getsockname() == ("127.0.0.1", port)

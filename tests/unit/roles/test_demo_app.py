# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The demo app's gethello mode on loopback: every bad upstream reply gives its 502 line, never a traceback."""


import importlib.util
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

APP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "roles", "demo_services", "files", "app", "demo_app.py"))


def _load_app():
    spec = importlib.util.spec_from_file_location("demo_app", APP)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


demo_app = _load_app()


class RawUpstream(object):
    """A loopback TCP server that answers every connection with fixed bytes, then closes."""

    def __init__(self, reply, linger=0.0):
        self.reply, self.linger = reply, linger
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve)
        self.thread.daemon = True
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            try:
                conn.settimeout(2)
                try:
                    conn.recv(65536)
                except OSError:
                    pass
                conn.sendall(self.reply)
                time.sleep(self.linger)
            except OSError:
                pass
            finally:
                conn.close()

    def close(self):
        self.sock.close()


@pytest.fixture
def upstream():
    servers = []

    def make(reply, linger=0.0):
        server = RawUpstream(reply, linger)
        servers.append(server)
        return "127.0.0.1:%d" % server.port

    yield make
    for server in servers:
        server.close()


def test_bad_status_line_is_a_502(upstream):
    status, body = demo_app.fetch(upstream(b"HELLO THERE\r\n\r\n"), 2)
    assert status == 502
    assert body.startswith("gethello error: GET http://127.0.0.1:") and "malformed reply" in body, body


def test_incomplete_read_is_a_502(upstream):
    target = upstream(b"HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")
    status, body = demo_app.fetch(target, 2)
    assert status == 502 and "malformed reply" in body and "IncompleteRead" in body, body


@pytest.mark.parametrize("target, reason", [
    ("http://127.0.0.1:notaport/", "invalid target"),
    ("gopher2://127.0.0.1/", "invalid target"),
    ("http://[::1/", "invalid target"),
])
def test_invalid_target_is_a_502(target, reason):
    status, body = demo_app.fetch(target, 1)
    assert status == 502 and reason in body and target in body, body


def test_oversized_body_is_cut_and_a_502(upstream):
    size = demo_app.MAX_BODY_BYTES * 4
    target = upstream(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % size + b"x" * size)
    status, body = demo_app.fetch(target, 2)
    assert status == 502 and "larger than %d bytes" % demo_app.MAX_BODY_BYTES in body, body[:200]


def test_good_reply_is_relayed(upstream):
    status, body = demo_app.fetch(upstream(b"HTTP/1.0 200 OK\r\nContent-Length: 6\r\n\r\nhello\n"), 2)
    assert (status, body) == (200, "hello\n")


def _free_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def _wait_listening(port):
    for _attempt in range(50):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("demo app did not listen on port %d" % port)


def test_server_answers_502_lines_and_drops_silent_clients(upstream):
    """The real server: bad upstream -> its 502 line; a client that sends nothing is dropped by the server's timeout."""
    port = _free_port()
    env = dict(os.environ, PORT=str(port), BIND_ADDRESS="127.0.0.1", SERVER_TARGET=upstream(b"garbage\r\n\r\n"),
               SERVER_TIMEOUT="1", CLIENT_TIMEOUT="1")
    server = subprocess.Popen([sys.executable, APP, "gethello"], env=env, stderr=subprocess.PIPE)
    try:
        _wait_listening(port)
        conn = socket.create_connection(("127.0.0.1", port), 5)
        conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
        reply = b""
        while True:
            chunk = conn.recv(4096)
            if not chunk:
                break
            reply += chunk
        conn.close()
        assert reply.startswith(b"HTTP/1.0 502"), reply
        assert b"gethello error: GET http://127.0.0.1:" in reply and b"malformed reply" in reply, reply
        silent = socket.create_connection(("127.0.0.1", port), 5)
        silent.settimeout(5)
        started = time.time()
        assert silent.recv(4096) == b""  # closed by the server, not by our 5 s timeout
        assert time.time() - started < 4
        silent.close()
    finally:
        server.terminate()
        logs = server.communicate(timeout=10)[1].decode()
    assert "Traceback" not in logs, logs

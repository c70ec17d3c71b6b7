# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Demo services of the swarm overlay tutorial, standard library only.

Two behaviours, chosen by the first argument or else by env DEMO_MODE:

hello     HTTP server answering every GET with one line naming who answered:
          ``hello from <hostname> <IPv4> [<IPv4> ...]`` (like the tutorial's
          huyinghuan/helloworld image, which answers with its IP addresses).
gethello  HTTP server that GETs the URL in env SERVER_TARGET (timeout env
          SERVER_TIMEOUT, default 3 s) and relays the body, or answers 502
          with one line naming the target and why it failed
          (like huyinghuan/gethelloworld): also on a malformed or
          oversized reply (more than SERVER_MAX_BODY bytes, default 65536)
          and an invalid target. It never answers with a traceback.

Other env: PORT (default 8080), BIND_ADDRESS (default 0.0.0.0),
CLIENT_TIMEOUT (default 10 s: a client that sends no request in that time is
dropped, so a silent connection cannot hold a thread for ever).
"""

from __future__ import absolute_import, division, print_function

import errno
import os
import signal
import socket
import sys

from http.client import HTTPException, IncompleteRead, InvalidURL
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.error import HTTPError, URLError
from urllib.request import ProxyHandler, build_opener

MODES = ("hello", "gethello")
# Replies are one line; a larger body is an upstream fault, not something to buffer.
MAX_BODY_BYTES = int(os.environ.get("SERVER_MAX_BODY", "65536"))


def ipv4_addresses(fib_trie="/proc/net/fib_trie"):
    """This container's own IPv4 addresses, loopback excluded, sorted.

    /proc/net/fib_trie lists each local address as a leaf followed by a
    "/32 host LOCAL" line; reading it needs no extra package (no iproute2).
    """
    found = set()
    try:
        with open(fib_trie) as handle:
            last = None
            for line in handle:
                text = line.strip()
                if text.startswith(("|--", "+--")):
                    last = text[3:].split()[0]
                elif text.startswith("/32 host LOCAL") and last:
                    found.add(last)
    except (IOError, OSError):
        pass
    if not found:
        # Fallback when /proc is not readable: what the hostname resolves to.
        try:
            found = set(socket.gethostbyname_ex(socket.gethostname())[2])
        except (socket.error, OSError):
            found = set()
    addrs = [a for a in found if not a.startswith("127.")]
    return sorted(addrs, key=lambda a: tuple(int(p) for p in a.split(".")))


def hello_line():
    """The one line the hello server answers (fixed for the life of a task)."""
    return "hello from %s %s" % (socket.gethostname(), " ".join(ipv4_addresses()))


def describe_error(exc, timeout):
    """A short reason for a failed GET: unresolvable, timeout, refused, other."""
    if isinstance(exc, HTTPError):
        return "target answered HTTP %d %s" % (exc.code, exc.reason)
    if isinstance(exc, InvalidURL) or (isinstance(exc, URLError) and "unknown url type" in str(exc.reason)):
        exc = ValueError(getattr(exc, "reason", exc))
    if isinstance(exc, HTTPException):
        # BadStatusLine, IncompleteRead, LineTooLong, ...: the target is not speaking HTTP properly.
        return "malformed reply (%s: %s)" % (type(exc).__name__, str(exc)[:120])
    if isinstance(exc, ValueError):
        # urllib's "unknown url type", "nonnumeric port", "Invalid IPv6 URL".
        return "invalid target (%s); set SERVER_TARGET to host:port or http://host:port/path" % exc
    # urlopen wraps connect errors in URLError; read errors come bare.
    reason = exc.reason if isinstance(exc, URLError) else exc
    if isinstance(reason, socket.gaierror):
        return "unresolvable name (%s)" % (reason.strerror or reason)
    if isinstance(reason, socket.timeout):
        return "timeout after %gs" % timeout
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, OSError) and reason.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return "no route to host (%s)" % reason.strerror
    return "%s: %s" % (type(reason).__name__, reason)


def fetch(target, timeout):
    """GET target; return (status, one-or-more-line body) for the client."""
    if not target:
        return 502, "gethello error: SERVER_TARGET is not set\n"
    url = target if "://" in target else "http://" + target
    # No proxy: the target lives on the overlay network, never behind a proxy.
    opener = build_opener(ProxyHandler({}))
    try:
        response = opener.open(url, timeout=timeout)
        try:
            body = response.read(MAX_BODY_BYTES + 1)
            declared = response.headers.get("Content-Length", "")
            # read(n) returns a short body instead of raising: compare with what was announced.
            if declared.isdigit() and len(body) < min(int(declared), MAX_BODY_BYTES + 1):
                raise IncompleteRead(body, int(declared) - len(body))
        finally:
            response.close()
    except (URLError, HTTPException, ValueError, socket.error, OSError) as exc:
        return 502, "gethello error: GET %s failed: %s\n" % (url, describe_error(exc, timeout))
    if len(body) > MAX_BODY_BYTES:
        return 502, "gethello error: GET %s failed: reply larger than %d bytes (SERVER_MAX_BODY)\n" % (url, MAX_BODY_BYTES)
    return 200, body.decode("utf-8", "replace")


class Handler(BaseHTTPRequestHandler):
    """Answers GET (and HEAD) according to the server's mode."""

    server_version = "swarmnet-demo/1"
    # Socket timeout for reading the request (StreamRequestHandler applies it).
    timeout = float(os.environ.get("CLIENT_TIMEOUT", "10"))
    protocol_version = "HTTP/1.0"  # one request per connection: each GET may reach another replica

    def _answer(self, send_body):
        if self.server.mode == "hello":
            status, body = 200, self.server.hello + "\n"
        else:
            try:
                status, body = fetch(self.server.target, self.server.fetch_timeout)
            except Exception as exc:  # pylint: disable=broad-except  # the contract: a 502 line, never a traceback
                status, body = 502, "gethello error: GET %s failed: %s: %s\n" % (self.server.target, type(exc).__name__, exc)
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if send_body:
            self.wfile.write(data)

    def do_GET(self):  # noqa: N802 (name fixed by BaseHTTPRequestHandler)
        self._answer(True)

    def do_HEAD(self):  # noqa: N802
        self._answer(False)

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        sys.stderr.write("%s %s\n" % (self.address_string(), format % args))
        sys.stderr.flush()


class DemoServer(ThreadingHTTPServer):
    daemon_threads = True  # a hung client must not block shutdown
    allow_reuse_address = True


def _stop(signum, frame):  # pylint: disable=unused-argument
    # Raising here interrupts serve_forever() at once: `docker stop` returns
    # in well under its 10 s grace period instead of killing us.
    raise SystemExit(0)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    mode = (argv[0] if argv else os.environ.get("DEMO_MODE", "hello")).strip().lower()
    if mode not in MODES:
        sys.stderr.write("unknown mode %r: use one of %s (argument or env DEMO_MODE)\n" % (mode, ", ".join(MODES)))
        return 2
    port = int(os.environ.get("PORT", "8080"))
    bind = os.environ.get("BIND_ADDRESS", "0.0.0.0")
    server = DemoServer((bind, port), Handler)
    server.mode = mode
    server.hello = hello_line()
    server.target = os.environ.get("SERVER_TARGET", "")
    server.fetch_timeout = float(os.environ.get("SERVER_TIMEOUT", "3"))
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if mode == "hello":
        sys.stderr.write("hello listening on %s:%d as: %s\n" % (bind, port, server.hello))
    else:
        sys.stderr.write("gethello listening on %s:%d, target %s\n" % (bind, port, server.target or "(unset)"))
    sys.stderr.flush()
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Companion request loop of playbooks/rolling_maintenance.yml, standard library only.

Runs in a container on an overlay network, on a node that is not being
maintained, and sends one HTTP GET after the other to a service by name, as a
plain client does: resolve the name (the embedded DNS answers), try the
addresses in the order getaddrinfo gives them until one answers. A request
fails when no address answered. Bounded: it stops after max_requests requests
or max_seconds seconds, or on SIGTERM (docker stop), and then prints one JSON
line with the numbers: requests sent, failed, the longest gap between two
answered requests, and what failed when and why.

Usage: python3 availability_loop.py NAME PORT PATH INTERVAL REQUEST_TIMEOUT MAX_REQUESTS MAX_SECONDS
"""

from __future__ import absolute_import, division, print_function

import json
import signal
import socket
import sys
import time

# Failed requests listed one by one in the summary (the counts are always complete).
MAX_LISTED_FAILURES = 50


def stamp(epoch):
    """UTC wall-clock time with milliseconds, to compare with the runbook's task times."""
    return time.strftime("%H:%M:%S", time.gmtime(epoch)) + ".%03d" % int((epoch % 1) * 1000)


class Tally(object):
    """Counts requests and the longest time without an answer (pure: fed with times and outcomes)."""

    def __init__(self, started):
        self.started = started
        self.sent = 0
        self.failed = 0
        self.fallbacks = 0
        self.responders = {}
        self.failures = []
        self.fallback_errors = []
        self.last_answer = started
        self.longest_gap = 0.0
        self.longest_gap_span = [stamp(started), stamp(started)]

    def _gap_until(self, now):
        gap = now - self.last_answer
        if gap > self.longest_gap:
            self.longest_gap = gap
            self.longest_gap_span = [stamp(self.last_answer), stamp(now)]

    def record(self, finished, responder, errors):
        """One request that ended at `finished`: responder (None if it failed) and the errors of the addresses tried."""
        self.sent += 1
        if responder is None:
            self.failed += 1
            if len(self.failures) < MAX_LISTED_FAILURES:
                self.failures.append({"at": stamp(finished), "errors": errors})
            return
        if errors:
            # An address the DNS still gave did not answer; the next one did.
            self.fallbacks += 1
            if len(self.fallback_errors) < MAX_LISTED_FAILURES:
                self.fallback_errors.append({"at": stamp(finished), "errors": errors, "answered": responder})
        self.responders[responder] = self.responders.get(responder, 0) + 1
        self._gap_until(finished)
        self.last_answer = finished

    def summary(self, ended):
        """The numbers; the time from the last answer to the end counts as a gap too."""
        self._gap_until(ended)
        return {
            "sent": self.sent,
            "failed": self.failed,
            "fallbacks": self.fallbacks,
            "longest_gap": round(self.longest_gap, 3),
            "longest_gap_span": self.longest_gap_span,
            "seconds": round(ended - self.started, 3),
            "started": stamp(self.started),
            "ended": stamp(ended),
            "responders": self.responders,
            "failures": self.failures,
            "fallback_errors": self.fallback_errors,
        }


def describe(exc):
    if isinstance(exc, socket.gaierror):
        return "name does not resolve (%s)" % (exc.strerror or exc)
    if isinstance(exc, socket.timeout):
        return "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return "%s: %s" % (type(exc).__name__, exc)


def one_request(name, port, path, timeout):
    """GET http://name:port/path like a plain client; return (first line of the answer or None, errors)."""
    errors = []
    try:
        infos = socket.getaddrinfo(name, port, socket.AF_INET, socket.SOCK_STREAM)
    except (socket.error, OSError) as exc:
        return None, [describe(exc)]
    request = ("GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n" % (path, name)).encode()
    for info in infos:
        address = info[4][0]
        try:
            with socket.create_connection((address, port), timeout=timeout) as sock:
                sock.settimeout(timeout)
                sock.sendall(request)
                data = b""
                while True:
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            head, _sep, body = data.partition(b"\r\n\r\n")
            status = head.split(b"\r\n", 1)[0].decode("latin-1")
            if " 200 " not in status + " ":
                errors.append("%s: answered %s" % (address, status or "nothing"))
                continue
            return body.decode("utf-8", "replace").strip().split("\n")[0][:120], errors
        except (socket.error, OSError) as exc:
            errors.append("%s: %s" % (address, describe(exc)))
    return None, errors or ["the name resolved to no address"]


def main(argv):
    name, port, path = argv[0], int(argv[1]), argv[2]
    interval, timeout = float(argv[3]), float(argv[4])
    max_requests, max_seconds = int(argv[5]), float(argv[6])
    stop = []
    # PID 1 in a container ignores SIGTERM unless it handles it.
    signal.signal(signal.SIGTERM, lambda *_args: stop.append(True))
    tally = Tally(time.time())
    while not stop and tally.sent < max_requests and time.time() - tally.started < max_seconds:
        responder, errors = one_request(name, port, path, timeout)
        tally.record(time.time(), responder, errors)
        if not stop:
            time.sleep(interval)
    print(json.dumps(tally.summary(time.time()), sort_keys=True))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

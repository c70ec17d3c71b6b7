# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The probe that service_endpoint_probe runs inside the overlay network.

probe_runner sends the source of this file to a container on the network
(``python3 -c <this source> '<spec json>'``): it must run on any python3 >= 3.5
with the standard library only, and import nothing from the collection.
Importing it (unit tests, the module on its node) runs nothing.

Lookups go through the container's resolver, i.e. Docker's embedded DNS at
127.0.0.11. Each target gets its own thread so a silent VIP costs
requests*timeout once, not per target; requests to one target stay
sequential so rotation is visible. Requests by name ask the nameserver
directly (a minimal A query) and use the first address it sends:
getaddrinfo re-sorts answers (RFC 3484 longest prefix), which would hide the
dnsrr rotation that clients like the tutorial's see. A name that did not
resolve is not looked up again per request (each miss is forwarded by Docker
to the node's upstream DNS).

spec = {"names": {key: name}, "requests": int, "timeout": float,
        "targets": [{"url": str, "name": str, "port": int, "path": str}],
        "nameserver": [host, port] (optional; unit tests use loopback)}
The result printed on stdout is endpoint_probe's ``raw`` shape.
"""

import errno
import json
import random
import socket
import struct
import sys
import threading
import time
from urllib.error import HTTPError, URLError
from urllib.request import ProxyHandler, Request, build_opener

REASON_TIMEOUT = "timeout"
REASON_REFUSED = "connection refused"
REASON_UNRESOLVABLE = "unresolvable name"

# Never a proxy: the targets are inside the overlay network.
OPENER = build_opener(ProxyHandler({}))


def resolv_conf_nameserver(path="/etc/resolv.conf"):
    """The first nameserver of resolv.conf (Docker's embedded DNS in a container)."""
    try:
        with open(path) as handle:
            for line in handle:
                parts = line.split()
                if len(parts) >= 2 and parts[0] == "nameserver":
                    return parts[1]
    except OSError:
        pass
    return "127.0.0.11"


def a_query(name, qid):
    """A DNS query packet asking for the A records of name."""
    packet = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        packet += struct.pack("B", len(label)) + label.encode("ascii")
    return packet + b"\x00" + struct.pack(">HH", 1, 1)


def a_answers(data):
    """The IPv4 addresses in a DNS answer packet, in the order the server sent them."""
    data = bytearray(data)
    qdcount, ancount = struct.unpack(">HH", bytes(data[4:8]))

    def skip_name(pos):
        while True:
            if data[pos] == 0:
                return pos + 1
            if data[pos] & 0xC0 == 0xC0:
                return pos + 2
            pos += 1 + data[pos]

    pos = 12
    for _question in range(qdcount):
        pos = skip_name(pos) + 4
    addrs = []
    for _answer in range(ancount):
        pos = skip_name(pos)
        rtype, _rclass, _ttl, rdlen = struct.unpack(">HHIH", bytes(data[pos:pos + 10]))
        pos += 10
        if rtype == 1 and rdlen == 4:
            addrs.append(socket.inet_ntoa(bytes(data[pos:pos + 4])))
        pos += rdlen
    return addrs


def query_a(name, timeout, nameserver):
    """Ask nameserver (host, port) for the A records of name; raise on no answer."""
    qid = random.randint(0, 65535)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.settimeout(timeout)
        sock.sendto(a_query(name, qid), nameserver)
        while True:
            data = sock.recv(4096)
            if len(data) >= 12 and struct.unpack(">H", data[:2])[0] == qid:
                break
    finally:
        sock.close()
    return a_answers(data)


def reason_of(exc):
    """A short reason for a failed request, as the module reports it."""
    if isinstance(exc, HTTPError):
        try:
            text = exc.read(4096).decode("utf-8", "replace").strip()
        except Exception:  # pylint: disable=broad-except  # the status alone is still a reason
            text = ""
        first = text.splitlines()[0][:200] if text else ""
        return "http status %d: %s" % (exc.code, first) if first else "http status %d" % exc.code
    if isinstance(exc, URLError) and not isinstance(exc.reason, str):
        exc = exc.reason
    if isinstance(exc, socket.gaierror):
        return REASON_UNRESOLVABLE
    if isinstance(exc, socket.timeout):
        return REASON_TIMEOUT
    if isinstance(exc, ConnectionRefusedError):
        return REASON_REFUSED
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    if isinstance(exc, OSError) and exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return "no route to host"
    if isinstance(exc, OSError) and exc.errno == errno.ETIMEDOUT:
        return REASON_TIMEOUT
    return "%s: %s" % (type(exc).__name__, exc)


def lookup(query):
    """What the system resolver says about query: {query, addresses (sorted), error}."""
    try:
        infos = socket.getaddrinfo(query, None, socket.AF_INET, socket.SOCK_STREAM)
        return {"query": query, "addresses": sorted(set(i[4][0] for i in infos)), "error": None}
    except socket.gaierror as exc:
        return {"query": query, "addresses": [], "error": "%s" % (exc.strerror or exc)}


def request_once(url, timeout, host=None):
    """One HTTP GET on a new connection: {ok, line, ms} or {ok, reason, ms}."""
    start = time.time()
    try:
        request = Request(url, headers={"Host": host} if host else {})
        response = OPENER.open(request, timeout=timeout)
        try:
            body = response.read(65536)
        finally:
            response.close()
        text = body.decode("utf-8", "replace").strip()
        line = text.splitlines()[0].strip() if text else "(empty body)"
        return {"ok": True, "line": line, "ms": round((time.time() - start) * 1000.0, 1)}
    except Exception as exc:  # pylint: disable=broad-except  # every failure is data for the report
        return {"ok": False, "reason": reason_of(exc), "ms": round((time.time() - start) * 1000.0, 1)}


def request_by_name(target, timeout, nameserver):
    """A request to the first address the nameserver sends for the target's name."""
    try:
        addrs = query_a(target["name"], timeout, nameserver)
    except Exception:  # pylint: disable=broad-except  # no direct answer: let the system resolver do it
        addrs = []
    if not addrs:
        return request_once(target["url"], timeout)
    answer = request_once("http://%s:%d%s" % (addrs[0], target["port"], target["path"]), timeout,
                          "%s:%d" % (target["name"], target["port"]))
    answer["address"] = addrs[0]
    return answer


def probe(spec):
    """Run the lookups and requests of spec; return the raw result."""
    nameserver = tuple(spec["nameserver"]) if spec.get("nameserver") else (resolv_conf_nameserver(), 53)
    out = {"dns": {}, "python": sys.version.split()[0], "nameserver": nameserver[0]}
    for key, query in sorted(spec["names"].items()):
        out["dns"][key] = lookup(query)
    unresolved = set(entry["query"] for entry in out["dns"].values() if not entry["addresses"])
    results = [None] * len(spec["targets"])

    def run(index, target):
        answers = []
        for _request in range(spec["requests"]):
            if target.get("name") in unresolved:
                answers.append({"ok": False, "reason": REASON_UNRESOLVABLE, "ms": 0.0})
            elif target.get("name"):
                answers.append(request_by_name(target, spec["timeout"], nameserver))
            else:
                answers.append(request_once(target["url"], spec["timeout"]))
        results[index] = {"url": target["url"], "answers": answers}

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(spec["targets"])]
    for thread in threads:
        thread.daemon = True
        thread.start()
    for thread in threads:
        thread.join()
    out["targets"] = results
    return out


def main(argv=None):
    argv = sys.argv if argv is None else argv
    sys.stdout.write(json.dumps(probe(json.loads(argv[1]))))
    sys.stdout.flush()


if __name__ == "__main__":
    main()

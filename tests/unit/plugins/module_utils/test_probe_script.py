# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""probe_script: the pieces of the in-network probe, imported as a module.

The end-to-end runs (the script as probe_runner sends it, on loopback) are in
test_endpoint_probe.py.
"""

import ast
import errno
import io
import json
import socket
import struct
import subprocess
import sys
from urllib.error import HTTPError, URLError

import pytest

from ansible_collections.swarmnet.overlay.plugins.module_utils import endpoint_probe as ep
from ansible_collections.swarmnet.overlay.plugins.module_utils import probe_runner
from ansible_collections.swarmnet.overlay.plugins.module_utils import probe_script as ps


def _answer(query, addresses, extra=b""):
    """A DNS answer to query (compressed names) with A records for addresses, plus extra records."""
    end = query.index(b"\x00", 12) + 5
    count = len(addresses) + (1 if extra else 0)
    packet = query[:2] + struct.pack(">HHHHH", 0x8180, 1, count, 0, 0) + query[12:end]
    packet += extra
    for addr in addresses:
        packet += b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton(addr)
    return packet


def test_a_query_encodes_labels_and_type_a():
    packet = ps.a_query("tasks.helloworld.", 0x1234)
    assert packet[:2] == b"\x12\x34"
    assert packet[12:] == b"\x05tasks\x0ahelloworld\x00\x00\x01\x00\x01"


def test_a_answers_keeps_server_order_and_skips_other_records():
    query = ps.a_query("helloworld", 7)
    cname = b"\xc0\x0c" + struct.pack(">HHIH", 5, 1, 60, 2) + b"\xc0\x0c"  # a CNAME record is not an address
    data = _answer(query, ["10.0.0.9", "10.0.0.3"], extra=cname)
    assert ps.a_answers(data) == ["10.0.0.9", "10.0.0.3"]
    assert ps.a_answers(_answer(query, [])) == []


def test_query_a_against_loopback_nameserver():
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    server.settimeout(5)
    try:
        import threading

        def serve():
            data, peer = server.recvfrom(512)
            server.sendto(_answer(data, ["10.1.2.3"]), peer)

        thread = threading.Thread(target=serve)
        thread.start()
        assert ps.query_a("helloworld", 5, server.getsockname()) == ["10.1.2.3"]
        thread.join(5)
    finally:
        server.close()


def test_query_a_times_out_on_a_silent_nameserver():
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    try:
        with pytest.raises(socket.timeout):
            ps.query_a("helloworld", 0.2, silent.getsockname())
    finally:
        silent.close()


def test_resolv_conf_nameserver(tmp_path):
    conf = tmp_path / "resolv.conf"
    conf.write_text("# Docker\nsearch lab\nnameserver 127.0.0.11\nnameserver 10.0.0.1\noptions ndots:0\n")
    assert ps.resolv_conf_nameserver(str(conf)) == "127.0.0.11"
    assert ps.resolv_conf_nameserver(str(tmp_path / "missing")) == "127.0.0.11"
    conf.write_text("nameserver 192.0.2.53\n")
    assert ps.resolv_conf_nameserver(str(conf)) == "192.0.2.53"


@pytest.mark.parametrize("exc, reason", [
    (socket.timeout("timed out"), "timeout"),
    (URLError(socket.timeout("timed out")), "timeout"),
    (URLError(ConnectionRefusedError(errno.ECONNREFUSED, "refused")), "connection refused"),
    (ConnectionResetError(errno.ECONNRESET, "reset"), "connection reset"),
    (URLError(socket.gaierror(-2, "Name or service not known")), "unresolvable name"),
    (URLError(OSError(errno.EHOSTUNREACH, "No route to host")), "no route to host"),
    (OSError(errno.ETIMEDOUT, "Connection timed out"), "timeout"),
    (ValueError("odd"), "ValueError: odd"),
])
def test_reason_of(exc, reason):
    assert ps.reason_of(exc) == reason


def test_reason_of_http_error_keeps_the_first_body_line():
    body = io.BytesIO(b"upstream down\nmore\n")
    assert ps.reason_of(HTTPError("http://x/", 502, "Bad Gateway", {}, body)) == "http status 502: upstream down"
    assert ps.reason_of(HTTPError("http://x/", 404, "Not Found", {}, io.BytesIO(b""))) == "http status 404"


def test_reasons_are_the_ones_the_analysis_counts():
    assert (ep.REASON_TIMEOUT, ep.REASON_REFUSED, ep.REASON_UNRESOLVABLE) == (
        ps.REASON_TIMEOUT, ps.REASON_REFUSED, ps.REASON_UNRESOLVABLE)


def test_lookup_localhost_and_a_name_that_cannot_exist():
    assert "127.0.0.1" in ps.lookup("localhost")["addresses"]
    missing = ps.lookup("swarmnet-probe-unit.invalid")
    assert missing["addresses"] == [] and missing["error"]


def test_the_runner_sends_this_file_and_it_needs_only_the_standard_library():
    source = probe_runner.probe_source()
    with open(ps.__file__) as handle:
        assert source == handle.read()
    command = probe_runner._command({"names": {}, "requests": 1, "timeout": 1.0, "targets": []})
    assert command[:3] == ["python3", "-c", source]
    assert json.loads(command[3])["requests"] == 1
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module.split(".")[0])
    assert imported <= set(sys.stdlib_module_names), imported - set(sys.stdlib_module_names)


def test_no_targets_prints_only_the_lookups():
    spec = {"names": {"name": "localhost"}, "requests": 1, "timeout": 0.5, "targets": []}
    out = subprocess.run([sys.executable, "-c", probe_runner.probe_source(), json.dumps(spec)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30, check=True)
    raw = json.loads(out.stdout)
    assert raw["targets"] == [] and "127.0.0.1" in raw["dns"]["name"]["addresses"]
    assert raw["python"] == sys.version.split()[0]


@pytest.mark.parametrize("text, expected", [
    ("10.0.0.1", True), ("<nil>", False), ("10.0.0.300", False), ("10.0.0", False), ("::1", False),
    ("", False), (None, False), (167772161, False),
])
def test_is_ipv4_takes_only_ipv4_text(text, expected):
    assert ep.is_ipv4(text) is expected

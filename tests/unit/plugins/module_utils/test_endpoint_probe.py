# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""endpoint_probe: mode inference, grouping and diagnoses from recorded inputs.

The CONTEXT_*/RAW_* dicts are the shapes probe_runner.gather_context and the
in-container probe_script.py produce.
"""

import copy
import json
import os
import socket
import subprocess
import sys
import time

import pytest

from ansible_collections.swarmnet.overlay.plugins.module_utils import endpoint_probe as ep
from ansible_collections.swarmnet.overlay.plugins.module_utils import probe_runner

HELLO = {
    "10.77.0.3": "hello from 5c0f3d2b91aa 10.77.0.3 172.18.0.3",
    "10.77.0.4": "hello from 81be44e0c7d2 10.77.0.4 172.18.0.4",
    "10.77.0.5": "hello from e3a1f90d6b57 10.77.0.5 172.18.0.3",
}


def ok(addr, ms=1.2):
    return {"ok": True, "line": HELLO[addr], "ms": ms}


def fail(reason="timeout", ms=3001.0):
    return {"ok": False, "reason": reason, "ms": ms}


def context(mode="vip", ipvs=False, networks=("helloTest",), tasks=None, node_addresses=(), published=None):
    return {
        "probe_node": {"id": "nodeid1", "name": "node1"},
        "manager": True,
        "network": {"id": "netid77", "name": "helloTest", "attachable": True, "ingress": False},
        "service": {"id": "svcid", "name": "helloworld", "endpoint_mode": mode,
                    "vip": "10.77.0.2" if mode == "vip" else None,
                    "networks": list(networks) if networks is not None else None, "published_port": published},
        "tasks": tasks if tasks is not None else [
            {"id": "t1", "node_id": "nodeid1", "node": "node1", "address": "10.77.0.3"},
            {"id": "t2", "node_id": "nodeid2", "node": "node2", "address": "10.77.0.4"},
            {"id": "t3", "node_id": "nodeid3", "node": "node3", "address": "10.77.0.5"},
        ],
        "ipvs": {"present": ipvs, "checked": ["/proc/net/ip_vs", "/sys/module/ip_vs"]},
        "port": 8080,
        "path": "/",
        "node_addresses": list(node_addresses),
    }


def dns(name, tasks, name_error=None):
    return {"name": {"query": "helloworld", "addresses": name, "error": name_error},
            "tasks": {"query": "tasks.helloworld", "addresses": tasks, "error": None if tasks else name_error}}


ALL = ["10.77.0.3", "10.77.0.4", "10.77.0.5"]

# VIP service in a kernel without IPVS: the VIP (and the name) time out, tasks answer.
RAW_VIP_NO_IPVS = {
    "dns": dns(["10.77.0.2"], ALL),
    "targets": [
        {"answers": [fail()] * 3},                      # name -> VIP
        {"answers": [fail()] * 3},                      # vip
        {"answers": [ok("10.77.0.3")] * 3},             # task on node1 (local)
        {"answers": [ok("10.77.0.4")] * 3},             # node2
        {"answers": [ok("10.77.0.5")] * 3},             # node3
    ],
}

# dnsrr service: the name resolves to the tasks and rotates over them.
RAW_DNSRR = {
    "dns": dns(ALL, ALL),
    "targets": [
        {"answers": [ok("10.77.0.3", 1.0), ok("10.77.0.4", 2.0), ok("10.77.0.5", 3.0), ok("10.77.0.3", 4.0)]},
        {"answers": [ok("10.77.0.3")] * 4},
        {"answers": [ok("10.77.0.4")] * 4},
        {"answers": [ok("10.77.0.5")] * 4},
    ],
}

# dnsrr with 4789/udp dropped on node2: only node2's task times out.
RAW_DNSRR_VXLAN_NODE2 = {
    "dns": dns(ALL, ALL),
    "targets": [
        {"answers": [ok("10.77.0.3"), fail(), ok("10.77.0.5"), ok("10.77.0.3")]},
        {"answers": [ok("10.77.0.3")] * 4},
        {"answers": [fail()] * 4},
        {"answers": [ok("10.77.0.5")] * 4},
    ],
}

# Service only on ingress: nothing resolves on helloTest, no task address there.
RAW_INGRESS_ONLY = {
    "dns": dns([], [], name_error="Name or service not known"),
    "targets": [{"answers": [fail("unresolvable name", 12.0)] * 3}],
}


def test_infer_endpoint_mode():
    assert ep.infer_endpoint_mode(["10.77.0.2"], ALL, "10.77.0.2") == "vip"
    assert ep.infer_endpoint_mode(["10.77.0.2"], ALL) == "vip"
    assert ep.infer_endpoint_mode(ALL, ALL) == "dnsrr"
    # DNS may lag behind a scale-up: a subset of the tasks is still dnsrr.
    assert ep.infer_endpoint_mode(["10.77.0.4"], ALL) == "dnsrr"
    assert ep.infer_endpoint_mode([], ALL) == "unresolvable"
    assert ep.infer_endpoint_mode(["10.77.0.9"], ALL, "10.77.0.2") == "unknown"
    assert ep.infer_endpoint_mode(["10.77.0.3", "10.77.0.9"], ALL) == "unknown"
    assert ep.infer_endpoint_mode(["10.77.0.3", "10.77.0.4"], []) == "dnsrr"


def test_build_targets_and_spec():
    ctx = context(node_addresses=["172.30.0.11"], published=8080)
    targets = ep.build_targets(ctx)
    assert [t["group"] for t in targets] == ["name", "vip", "task", "task", "task", "published"]
    assert targets[0]["url"] == "http://helloworld:8080/"
    assert targets[1]["url"] == "http://10.77.0.2:8080/"
    assert targets[2] == {"group": "task", "target": "task 10.77.0.3 on node1", "address": "10.77.0.3",
                          "node": "node1", "local": True, "url": "http://10.77.0.3:8080/"}
    assert targets[3]["local"] is False
    assert targets[5]["url"] == "http://172.30.0.11:8080/"
    spec = ep.build_spec(ctx, 4, 2)
    assert spec["names"] == {"name": "helloworld", "tasks": "tasks.helloworld"}
    assert spec["requests"] == 4 and spec["timeout"] == 2.0
    assert [t["url"] for t in spec["targets"]] == [t["url"] for t in targets]


def test_build_targets_skips_tasks_without_address_and_no_vip_for_dnsrr():
    ctx = context(mode="dnsrr", tasks=[{"id": "t9", "node_id": "n9", "node": "node9", "address": None}], node_addresses=["172.30.0.11"])
    assert [t["group"] for t in ep.build_targets(ctx)] == ["name"]


def test_summarize_answers_groups_by_responder():
    responders, failures, latency = ep.summarize_answers(RAW_DNSRR_VXLAN_NODE2["targets"][0]["answers"])
    assert responders == {HELLO["10.77.0.3"]: 2, HELLO["10.77.0.5"]: 1}
    assert failures == [{"request": 2, "reason": "timeout"}]
    assert latency == {"min": 1.2, "median": 1.2, "max": 1.2}
    assert ep.summarize_answers([fail()])[2] is None
    assert ep.median([1.0, 2.0, 4.0, 10.0]) == 3.0


def test_vip_without_ipvs():
    result = ep.analyse(context(), RAW_VIP_NO_IPVS)
    assert result["endpoint_mode"] == "vip"
    assert result["dns"]["name"] == ["10.77.0.2"] and result["dns"]["tasks"] == ALL
    vip = result["targets"][1]
    assert vip["group"] == "vip" and vip["responders"] == {} and len(vip["failures"]) == 3
    assert result["targets"][3]["responders"] == {HELLO["10.77.0.4"]: 3}
    assert len(result["diagnoses"]) == 1
    text = result["diagnoses"][0]
    assert "IPVS missing in the kernel of node node1" in text
    assert "vip 10.77.0.2 (3 of 3 failed: timeout x3)" in text
    assert "name helloworld" in text  # the name resolves to the VIP: silent for the same reason

    failed = ep.check_expectations(result, context(), expect_resolvable=True, expect_endpoint_mode="vip",
                                   min_responders=2, max_failures=0)
    assert failed == [
        "expected at least 2 distinct responders via name helloworld, saw 0 (3 of 3 failed: timeout x3)",
        "expected at least 2 distinct responders via vip 10.77.0.2, saw 0 (3 of 3 failed: timeout x3)",
        "expected at most 0 failed requests, saw 6 (name helloworld: 3 of 3 failed: timeout x3; "
        "vip 10.77.0.2: 3 of 3 failed: timeout x3)",
    ]
    message = ep.failure_message(failed, result["diagnoses"])
    assert message.startswith("Probe assertion failed: expected at least 2")
    assert "Likely cause: The VIP is silent" in message


def test_vip_silent_with_ipvs_present_says_so():
    result = ep.analyse(context(ipvs=True), RAW_VIP_NO_IPVS)
    assert "IPVS is present on node node1" in result["diagnoses"][0]


def test_dnsrr_all_answer():
    ctx = context(mode="dnsrr")
    result = ep.analyse(ctx, RAW_DNSRR)
    assert result["endpoint_mode"] == "dnsrr"
    assert [t["group"] for t in result["targets"]] == ["name", "task", "task", "task"]
    assert len(result["targets"][0]["responders"]) == 3
    assert result["targets"][0]["latency_ms"] == {"min": 1.0, "median": 2.5, "max": 4.0}
    assert result["diagnoses"] == []
    assert ep.check_expectations(result, ctx, True, "dnsrr", 3, 0) == []
    assert ep.check_expectations(result, ctx, expect_endpoint_mode="vip") == [
        "expected endpoint mode vip, saw dnsrr ('helloworld' -> 10.77.0.3, 10.77.0.4, 10.77.0.5; "
        "task addresses 10.77.0.3, 10.77.0.4, 10.77.0.5)"]


def test_vxlan_blocked_to_one_node():
    result = ep.analyse(context(mode="dnsrr"), RAW_DNSRR_VXLAN_NODE2)
    assert result["diagnoses"] == [
        "Tasks on node2 time out while tasks on node1, node3 answer: the data path port 4789/udp (VXLAN) "
        "is blocked between the probing node node1 and node2."]


def test_only_local_tasks_answer():
    raw = copy.deepcopy(RAW_DNSRR_VXLAN_NODE2)
    raw["targets"][3] = {"answers": [fail()] * 4}
    result = ep.analyse(context(mode="dnsrr"), raw)
    assert result["diagnoses"] == [
        "Only tasks on node node1 (the probing node) answer; tasks on node2, node3 time out: the data path "
        "port 4789/udp (VXLAN) is blocked between node1 and node2, node3."]


def test_no_task_answers_all_remote():
    ctx = context(mode="dnsrr", tasks=[
        {"id": "t2", "node_id": "nodeid2", "node": "node2", "address": "10.77.0.4"},
        {"id": "t3", "node_id": "nodeid3", "node": "node3", "address": "10.77.0.5"}])
    raw = {"dns": dns(ALL[1:], ALL[1:]), "targets": [{"answers": [fail()] * 2}] * 3}
    result = ep.analyse(ctx, raw)
    assert len(result["diagnoses"]) == 1
    assert result["diagnoses"][0].startswith("No task answers and every task is on another node (node2, node3)")


def test_ingress_only_service_does_not_resolve():
    ctx = context(networks=["ingress"], tasks=[
        {"id": "t1", "node_id": "nodeid1", "node": "node1", "address": None}])
    ctx["service"]["vip"] = None  # its only VIP is on ingress
    result = ep.analyse(ctx, RAW_INGRESS_ONLY)
    assert result["endpoint_mode"] == "unresolvable"
    assert result["targets"][0]["failures"][0]["reason"] == "unresolvable name"
    assert result["diagnoses"][0].startswith(
        "The name 'helloworld' does not resolve on network helloTest: the service is not attached to that network "
        "(its networks: ingress). ingress gives no service discovery by name")
    assert ep.check_expectations(result, ctx, expect_resolvable=False) == []
    assert ep.check_expectations(result, ctx, expect_resolvable=True) == [
        "expected the name 'helloworld' to resolve on network helloTest, saw no address (Name or service not known)"]


def test_resolvable_when_not_expected():
    result = ep.analyse(context(mode="dnsrr"), RAW_DNSRR)
    assert ep.check_expectations(result, context(mode="dnsrr"), expect_resolvable=False) == [
        "expected the name 'helloworld' not to resolve on network helloTest, saw 10.77.0.3, 10.77.0.4, 10.77.0.5"]


def test_published_port_silent_without_ipvs_and_refused_task():
    ctx = context(mode="dnsrr", node_addresses=["172.30.0.11"], published=8080)
    raw = copy.deepcopy(RAW_DNSRR)
    raw["targets"][3] = {"answers": [fail("connection refused", 0.4)] * 4}
    raw["targets"].append({"answers": [fail()] * 4})
    result = ep.analyse(ctx, raw)
    assert result["targets"][-1]["group"] == "published"
    assert any("published 172.30.0.11:8080 (4 of 4 failed: timeout x4)" in d and "IPVS, missing in the kernel of node node1" in d
               for d in result["diagnoses"])
    assert any(d.startswith("task 10.77.0.5 on node3 refuses connections on port 8080") for d in result["diagnoses"])


def test_node_addresses_without_published_port():
    ctx = context(mode="dnsrr", node_addresses=["172.30.0.11"])
    result = ep.analyse(ctx, RAW_DNSRR)
    assert result["diagnoses"] == ["node_addresses were given but the service publishes no port for target port 8080: "
                                   "the published port was not probed."]


def test_worker_context_without_network_list():
    ctx = context(networks=None, tasks=[])
    ctx["service"]["vip"] = None
    result = ep.analyse(ctx, RAW_INGRESS_ONLY)
    assert "the service has no running task there" in result["diagnoses"][0]


def test_parse_probe_output():
    raw = ep.parse_probe_output(json.dumps(RAW_DNSRR).encode())
    assert raw["dns"]["name"]["addresses"] == ALL
    with pytest.raises(ep.ProbeError, match=r"\(exit code 1\): Traceback .* \| NameError: x"):
        ep.parse_probe_output(b"", b"Traceback (most recent call last):\nNameError: x\n", 1)
    with pytest.raises(ep.ProbeError, match="3 target results for 2 targets"):
        ep.analyse(context(tasks=[]), {"dns": dns([], []), "targets": [{}, {}, {}]})


def _free_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_probe_script_against_demo_app_on_loopback():
    """probe_script.py, as probe_runner sends it, end to end on loopback: answer, refused, timeout, grouping."""
    app = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles", "demo_services", "files", "app", "demo_app.py")
    port, refused = _free_port(), _free_port()
    silent = socket.socket()  # accepts connections into the backlog, never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    env = dict(os.environ, PORT=str(port), BIND_ADDRESS="127.0.0.1")
    server = subprocess.Popen([sys.executable, app, "hello"], env=env, stderr=subprocess.PIPE)
    try:
        for _attempt in range(50):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        spec = {"names": {"name": "localhost"}, "requests": 2, "timeout": 0.5, "targets": [
            {"url": "http://127.0.0.1:%d/" % port},
            {"url": "http://127.0.0.1:%d/" % refused},
            {"url": "http://127.0.0.1:%d/" % silent.getsockname()[1]},
        ]}
        out = subprocess.run([sys.executable, "-c", probe_runner.probe_source(), json.dumps(spec)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, timeout=30, check=False)
        raw = ep.parse_probe_output(out.stdout, out.stderr, out.returncode)
    finally:
        server.terminate()
        server.wait(10)
        silent.close()
    assert raw["dns"]["name"]["addresses"] == ["127.0.0.1"]
    line = raw["targets"][0]["answers"][0]["line"]
    assert line.startswith("hello from %s" % socket.gethostname())
    responders, failures, latency = ep.summarize_answers(raw["targets"][0]["answers"])
    assert responders == {line: 2} and failures == [] and latency["max"] < 500
    assert [a["reason"] for a in raw["targets"][1]["answers"]] == ["connection refused"] * 2
    assert [a["reason"] for a in raw["targets"][2]["answers"]] == ["timeout"] * 2


class FakeDNS(object):
    """A UDP nameserver on loopback answering every A query with `addresses`, rotated per query."""

    def __init__(self, addresses):
        import threading
        self.addresses = list(addresses)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop = False
        self.thread = threading.Thread(target=self.serve)
        self.thread.daemon = True
        self.thread.start()

    def serve(self):
        import struct
        while not self.stop:
            try:
                data, peer = self.sock.recvfrom(512)
            except socket.timeout:
                continue
            end = data.index(b"\x00", 12) + 5  # question: name, type, class
            answer = data[:2] + struct.pack(">HHHHH", 0x8180, 1, len(self.addresses), 0, 0) + data[12:end]
            for addr in self.addresses:
                answer += b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 0, 4) + socket.inet_aton(addr)
            self.addresses = self.addresses[1:] + self.addresses[:1]
            self.sock.sendto(answer, peer)

    def close(self):
        self.stop = True
        self.thread.join(2)
        self.sock.close()


def test_probe_script_by_name_follows_dns_order():
    """Requests by name go to the first address the nameserver sends, so DNS rotation reaches every replica."""
    app = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles", "demo_services", "files", "app", "demo_app.py")
    port = _free_port()
    servers = [subprocess.Popen([sys.executable, app, "hello"], stderr=subprocess.PIPE,
                                env=dict(os.environ, PORT=str(port), BIND_ADDRESS=addr))
               for addr in ("127.0.0.1", "127.0.0.2")]
    dns_server = FakeDNS(["127.0.0.1", "127.0.0.2"])
    try:
        for addr in ("127.0.0.1", "127.0.0.2"):
            for _attempt in range(50):
                try:
                    socket.create_connection((addr, port), 0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)
        ctx = context(mode="dnsrr", tasks=[])
        ctx["service"]["name"] = "localhost"  # getaddrinfo finds it in /etc/hosts: no real DNS traffic
        ctx["port"] = port
        spec = ep.build_spec(ctx, 4, 1)
        spec["names"] = {"name": "localhost"}
        spec["nameserver"] = ["127.0.0.1", dns_server.port]
        out = subprocess.run([sys.executable, "-c", probe_runner.probe_source(), json.dumps(spec)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, timeout=30, check=False)
        raw = ep.parse_probe_output(out.stdout, out.stderr, out.returncode)
    finally:
        dns_server.close()
        logs = []
        for server in servers:
            server.terminate()
            logs.append(server.communicate(timeout=10)[1].decode())
    # Both servers answer with this host's identity; their logs show who got what.
    assert [log.count('"GET / HTTP/1.1" 200') for log in logs] == [2, 2]
    raw["dns"]["tasks"] = {"query": "tasks.localhost", "addresses": [], "error": None}
    result = ep.analyse(ctx, raw)
    name = result["targets"][0]
    assert name["resolved_to"] == {"127.0.0.1": 2, "127.0.0.2": 2}
    assert sum(name["responders"].values()) == 4 and name["failures"] == []


def test_unresolved_name_is_not_looked_up_per_request():
    spec = {"names": {"name": "swarmnet-probe-unit.invalid"}, "requests": 3, "timeout": 0.5,
            "nameserver": ["127.0.0.1", _free_port()],
            "targets": [{"url": "http://swarmnet-probe-unit.invalid:8080/", "name": "swarmnet-probe-unit.invalid",
                         "port": 8080, "path": "/"}]}
    # getaddrinfo must fail without the network: point the script at an empty hosts-only world.
    script = "import socket\n" \
             "def _fail(*a, **k):\n    raise socket.gaierror(-2, 'Name or service not known')\n" \
             "socket.getaddrinfo = _fail\n" + probe_runner.probe_source()
    out = subprocess.run([sys.executable, "-c", script, json.dumps(spec)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, timeout=30, check=False)
    raw = ep.parse_probe_output(out.stdout, out.stderr, out.returncode)
    assert raw["dns"]["name"]["error"] == "Name or service not known"
    assert [a["reason"] for a in raw["targets"][0]["answers"]] == ["unresolvable name"] * 3


# Recorded on the lab (3 node containers, Engine 20.10, kernel without IPVS), 2026-11-29:
# context from the module's result on swarmnet-lab-manager1, raw from the probe script run there
# in a container on network probetest. rr_vxlan: 4789/udp dropped on worker1 (iptables INPUT);
# ingonly: a service published only on ingress.
RECORDED = json.loads("""
{
 "ingonly": {
  "context": {
   "ipvs": {
    "checked": [
     "/proc/net/ip_vs",
     "/sys/module/ip_vs"
    ],
    "present": false
   },
   "network": {
    "attachable": true,
    "id": "7x3fwrj2s31w9wu5ot0nt5zpp",
    "ingress": false,
    "name": "probetest"
   },
   "node_addresses": [],
   "path": "/",
   "port": 8080,
   "probe_node": {
    "id": "mygzx45up49pq4n5vgkus7plq",
    "name": "swarmnet-lab-manager1"
   },
   "service": {
    "endpoint_mode": "vip",
    "id": "n69eqjz910l0etc8uyu8zgbgy",
    "name": "probe-ingonly",
    "networks": [
     "ingress"
    ],
    "published_port": 18080,
    "vip": null
   },
   "tasks": [
    {
     "address": null,
     "id": "sbiizc19cj9eae00s0o0tql13",
     "node": "swarmnet-lab-worker1",
     "node_id": "lztyieq6x4seea8l69wwe4ygs"
    },
    {
     "address": null,
     "id": "zjt847ytgwecti07ov0u9jlri",
     "node": "swarmnet-lab-worker2",
     "node_id": "cud0sxd7aiokvzufspogfigbk"
    }
   ]
  },
  "raw": {
   "dns": {
    "name": {
     "addresses": [],
     "error": "No address associated with hostname",
     "query": "probe-ingonly"
    },
    "tasks": {
     "addresses": [],
     "error": "Temporary failure in name resolution",
     "query": "tasks.probe-ingonly"
    }
   },
   "nameserver": "127.0.0.11",
   "targets": [
    {
     "answers": [
      {
       "ms": 0.0,
       "ok": false,
       "reason": "unresolvable name"
      },
      {
       "ms": 0.0,
       "ok": false,
       "reason": "unresolvable name"
      }
     ],
     "url": "http://probe-ingonly:8080/"
    }
   ]
  }
 },
 "rr": {
  "context": {
   "ipvs": {
    "checked": [
     "/proc/net/ip_vs",
     "/sys/module/ip_vs"
    ],
    "present": false
   },
   "network": {
    "attachable": true,
    "id": "7x3fwrj2s31w9wu5ot0nt5zpp",
    "ingress": false,
    "name": "probetest"
   },
   "node_addresses": [],
   "path": "/",
   "port": 8080,
   "probe_node": {
    "id": "mygzx45up49pq4n5vgkus7plq",
    "name": "swarmnet-lab-manager1"
   },
   "service": {
    "endpoint_mode": "dnsrr",
    "id": "fis3ge4x5pwlnvh3ovw3x4wiu",
    "name": "probe-hello-rr",
    "networks": [
     "probetest"
    ],
    "published_port": null,
    "vip": null
   },
   "tasks": [
    {
     "address": "10.77.0.11",
     "id": "jcsvrw4fuvxy7sxz8vsdd3iux",
     "node": "swarmnet-lab-worker1",
     "node_id": "lztyieq6x4seea8l69wwe4ygs"
    },
    {
     "address": "10.77.0.26",
     "id": "m2azlx7hf82uf891wths79ubw",
     "node": "swarmnet-lab-worker2",
     "node_id": "cud0sxd7aiokvzufspogfigbk"
    },
    {
     "address": "10.77.0.10",
     "id": "x687uq74cjeyv6sa26ua92ggd",
     "node": "swarmnet-lab-manager1",
     "node_id": "mygzx45up49pq4n5vgkus7plq"
    }
   ]
  },
  "raw": {
   "dns": {
    "name": {
     "addresses": [
      "10.77.0.10",
      "10.77.0.11",
      "10.77.0.26"
     ],
     "error": null,
     "query": "probe-hello-rr"
    },
    "tasks": {
     "addresses": [
      "10.77.0.10",
      "10.77.0.11",
      "10.77.0.26"
     ],
     "error": null,
     "query": "tasks.probe-hello-rr"
    }
   },
   "nameserver": "127.0.0.11",
   "targets": [
    {
     "answers": [
      {
       "address": "10.77.0.26",
       "line": "hello from 1970f732b15f 10.77.0.26 172.18.0.5",
       "ms": 1.3,
       "ok": true
      },
      {
       "address": "10.77.0.10",
       "line": "hello from b784bcc45a10 10.77.0.10 172.18.0.3",
       "ms": 11.4,
       "ok": true
      },
      {
       "address": "10.77.0.11",
       "line": "hello from 44645e14b0f8 10.77.0.11 172.18.0.3",
       "ms": 1.0,
       "ok": true
      },
      {
       "address": "10.77.0.26",
       "line": "hello from 1970f732b15f 10.77.0.26 172.18.0.5",
       "ms": 6.2,
       "ok": true
      },
      {
       "address": "10.77.0.26",
       "line": "hello from 1970f732b15f 10.77.0.26 172.18.0.5",
       "ms": 1.8,
       "ok": true
      },
      {
       "address": "10.77.0.11",
       "line": "hello from 44645e14b0f8 10.77.0.11 172.18.0.3",
       "ms": 0.8,
       "ok": true
      }
     ],
     "url": "http://probe-hello-rr:8080/"
    },
    {
     "answers": [
      {
       "line": "hello from b784bcc45a10 10.77.0.10 172.18.0.3",
       "ms": 11.1,
       "ok": true
      },
      {
       "line": "hello from b784bcc45a10 10.77.0.10 172.18.0.3",
       "ms": 4.9,
       "ok": true
      },
      {
       "line": "hello from b784bcc45a10 10.77.0.10 172.18.0.3",
       "ms": 0.8,
       "ok": true
      },
      {
       "line": "hello from b784bcc45a10 10.77.0.10 172.18.0.3",
       "ms": 2.2,
       "ok": true
      },
      {
       "line": "hello from b784bcc45a10 10.77.0.10 172.18.0.3",
       "ms": 0.7,
       "ok": true
      },
      {
       "line": "hello from b784bcc45a10 10.77.0.10 172.18.0.3",
       "ms": 0.6,
       "ok": true
      }
     ],
     "url": "http://10.77.0.10:8080/"
    },
    {
     "answers": [
      {
       "line": "hello from 44645e14b0f8 10.77.0.11 172.18.0.3",
       "ms": 2.5,
       "ok": true
      },
      {
       "line": "hello from 44645e14b0f8 10.77.0.11 172.18.0.3",
       "ms": 2.9,
       "ok": true
      },
      {
       "line": "hello from 44645e14b0f8 10.77.0.11 172.18.0.3",
       "ms": 1.4,
       "ok": true
      },
      {
       "line": "hello from 44645e14b0f8 10.77.0.11 172.18.0.3",
       "ms": 2.1,
       "ok": true
      },
      {
       "line": "hello from 44645e14b0f8 10.77.0.11 172.18.0.3",
       "ms": 1.2,
       "ok": true
      },
      {
       "line": "hello from 44645e14b0f8 10.77.0.11 172.18.0.3",
       "ms": 0.8,
       "ok": true
      }
     ],
     "url": "http://10.77.0.11:8080/"
    },
    {
     "answers": [
      {
       "line": "hello from 1970f732b15f 10.77.0.26 172.18.0.5",
       "ms": 0.8,
       "ok": true
      },
      {
       "line": "hello from 1970f732b15f 10.77.0.26 172.18.0.5",
       "ms": 4.4,
       "ok": true
      },
      {
       "line": "hello from 1970f732b15f 10.77.0.26 172.18.0.5",
       "ms": 9.0,
       "ok": true
      },
      {
       "line": "hello from 1970f732b15f 10.77.0.26 172.18.0.5",
       "ms": 2.4,
       "ok": true
      },
      {
       "line": "hello from 1970f732b15f 10.77.0.26 172.18.0.5",
       "ms": 0.9,
       "ok": true
      },
      {
       "line": "hello from 1970f732b15f 10.77.0.26 172.18.0.5",
       "ms": 0.8,
       "ok": true
      }
     ],
     "url": "http://10.77.0.26:8080/"
    }
   ]
  }
 },
 "rr_vxlan": {
  "context": {
   "ipvs": {
    "checked": [
     "/proc/net/ip_vs",
     "/sys/module/ip_vs"
    ],
    "present": false
   },
   "network": {
    "attachable": true,
    "id": "7x3fwrj2s31w9wu5ot0nt5zpp",
    "ingress": false,
    "name": "probetest"
   },
   "node_addresses": [],
   "path": "/",
   "port": 8080,
   "probe_node": {
    "id": "mygzx45up49pq4n5vgkus7plq",
    "name": "swarmnet-lab-manager1"
   },
   "service": {
    "endpoint_mode": "dnsrr",
    "id": "fis3ge4x5pwlnvh3ovw3x4wiu",
    "name": "probe-hello-rr",
    "networks": [
     "probetest"
    ],
    "published_port": null,
    "vip": null
   },
   "tasks": [
    {
     "address": "10.77.0.11",
     "id": "jcsvrw4fuvxy7sxz8vsdd3iux",
     "node": "swarmnet-lab-worker1",
     "node_id": "lztyieq6x4seea8l69wwe4ygs"
    },
    {
     "address": "10.77.0.26",
     "id": "m2azlx7hf82uf891wths79ubw",
     "node": "swarmnet-lab-worker2",
     "node_id": "cud0sxd7aiokvzufspogfigbk"
    },
    {
     "address": "10.77.0.10",
     "id": "x687uq74cjeyv6sa26ua92ggd",
     "node": "swarmnet-lab-manager1",
     "node_id": "mygzx45up49pq4n5vgkus7plq"
    }
   ]
  },
  "raw": {
   "dns": {
    "name": {
     "addresses": [
      "10.77.0.10",
      "10.77.0.11",
      "10.77.0.26"
     ],
     "error": null,
     "query": "probe-hello-rr"
    },
    "tasks": {
     "addresses": [
      "10.77.0.10",
      "10.77.0.11",
      "10.77.0.26"
     ],
     "error": null,
     "query": "tasks.probe-hello-rr"
    }
   },
   "nameserver": "127.0.0.11",
   "targets": [
    {
     "answers": [
      {
       "address": "10.77.0.10",
       "line": "hello from b784bcc45a10 10.77.0.10 172.18.0.3",
       "ms": 2.6,
       "ok": true
      },
      {
       "address": "10.77.0.26",
       "line": "hello from 1970f732b15f 10.77.0.26 172.18.0.5",
       "ms": 3.1,
       "ok": true
      },
      {
       "address": "10.77.0.11",
       "ms": 1000.9,
       "ok": false,
       "reason": "timeout"
      }
     ],
     "url": "http://probe-hello-rr:8080/"
    },
    {
     "answers": [
      {
       "line": "hello from b784bcc45a10 10.77.0.10 172.18.0.3",
       "ms": 3.0,
       "ok": true
      },
      {
       "line": "hello from b784bcc45a10 10.77.0.10 172.18.0.3",
       "ms": 4.6,
       "ok": true
      },
      {
       "line": "hello from b784bcc45a10 10.77.0.10 172.18.0.3",
       "ms": 1.7,
       "ok": true
      }
     ],
     "url": "http://10.77.0.10:8080/"
    },
    {
     "answers": [
      {
       "ms": 1002.0,
       "ok": false,
       "reason": "timeout"
      },
      {
       "ms": 1001.6,
       "ok": false,
       "reason": "timeout"
      },
      {
       "ms": 1001.9,
       "ok": false,
       "reason": "timeout"
      }
     ],
     "url": "http://10.77.0.11:8080/"
    },
    {
     "answers": [
      {
       "line": "hello from 1970f732b15f 10.77.0.26 172.18.0.5",
       "ms": 2.8,
       "ok": true
      },
      {
       "line": "hello from 1970f732b15f 10.77.0.26 172.18.0.5",
       "ms": 1.4,
       "ok": true
      },
      {
       "line": "hello from 1970f732b15f 10.77.0.26 172.18.0.5",
       "ms": 0.7,
       "ok": true
      }
     ],
     "url": "http://10.77.0.26:8080/"
    }
   ]
  }
 },
 "vip": {
  "context": {
   "ipvs": {
    "checked": [
     "/proc/net/ip_vs",
     "/sys/module/ip_vs"
    ],
    "present": false
   },
   "network": {
    "attachable": true,
    "id": "7x3fwrj2s31w9wu5ot0nt5zpp",
    "ingress": false,
    "name": "probetest"
   },
   "node_addresses": [],
   "path": "/",
   "port": 8080,
   "probe_node": {
    "id": "mygzx45up49pq4n5vgkus7plq",
    "name": "swarmnet-lab-manager1"
   },
   "service": {
    "endpoint_mode": "vip",
    "id": "119vupvsbxkdhrpscqyhzjgoy",
    "name": "probe-hello-vip",
    "networks": [
     "probetest",
     "ingress"
    ],
    "published_port": 18081,
    "vip": "10.77.0.2"
   },
   "tasks": [
    {
     "address": "10.77.0.25",
     "id": "9v3zxghmzqaw14cchojat94nt",
     "node": "swarmnet-lab-worker1",
     "node_id": "lztyieq6x4seea8l69wwe4ygs"
    },
    {
     "address": "10.77.0.27",
     "id": "dnlut2r5r76ug2ujg4ynvqfrh",
     "node": "swarmnet-lab-manager1",
     "node_id": "mygzx45up49pq4n5vgkus7plq"
    },
    {
     "address": "10.77.0.23",
     "id": "vbmxqlsqfg7iqr2asmxmzng8e",
     "node": "swarmnet-lab-worker2",
     "node_id": "cud0sxd7aiokvzufspogfigbk"
    }
   ]
  },
  "raw": {
   "dns": {
    "name": {
     "addresses": [
      "10.77.0.2"
     ],
     "error": null,
     "query": "probe-hello-vip"
    },
    "tasks": {
     "addresses": [
      "10.77.0.23",
      "10.77.0.25",
      "10.77.0.27"
     ],
     "error": null,
     "query": "tasks.probe-hello-vip"
    }
   },
   "nameserver": "127.0.0.11",
   "targets": [
    {
     "answers": [
      {
       "address": "10.77.0.2",
       "ms": 1001.1,
       "ok": false,
       "reason": "timeout"
      },
      {
       "address": "10.77.0.2",
       "ms": 1001.3,
       "ok": false,
       "reason": "timeout"
      },
      {
       "address": "10.77.0.2",
       "ms": 1000.9,
       "ok": false,
       "reason": "timeout"
      }
     ],
     "url": "http://probe-hello-vip:8080/"
    },
    {
     "answers": [
      {
       "ms": 1003.0,
       "ok": false,
       "reason": "timeout"
      },
      {
       "ms": 1001.4,
       "ok": false,
       "reason": "timeout"
      },
      {
       "ms": 1000.7,
       "ok": false,
       "reason": "timeout"
      }
     ],
     "url": "http://10.77.0.2:8080/"
    },
    {
     "answers": [
      {
       "line": "hello from 8840dcf1311e 10.0.0.16 10.77.0.27 172.18.0.4",
       "ms": 2.6,
       "ok": true
      },
      {
       "line": "hello from 8840dcf1311e 10.0.0.16 10.77.0.27 172.18.0.4",
       "ms": 2.1,
       "ok": true
      },
      {
       "line": "hello from 8840dcf1311e 10.0.0.16 10.77.0.27 172.18.0.4",
       "ms": 1.4,
       "ok": true
      }
     ],
     "url": "http://10.77.0.27:8080/"
    },
    {
     "answers": [
      {
       "line": "hello from d3792ad4ee13 10.0.0.15 10.77.0.25 172.18.0.4",
       "ms": 6.9,
       "ok": true
      },
      {
       "line": "hello from d3792ad4ee13 10.0.0.15 10.77.0.25 172.18.0.4",
       "ms": 1.5,
       "ok": true
      },
      {
       "line": "hello from d3792ad4ee13 10.0.0.15 10.77.0.25 172.18.0.4",
       "ms": 1.3,
       "ok": true
      }
     ],
     "url": "http://10.77.0.25:8080/"
    },
    {
     "answers": [
      {
       "line": "hello from 46971f055b4b 10.0.0.14 10.77.0.23 172.18.0.4",
       "ms": 2.0,
       "ok": true
      },
      {
       "line": "hello from 46971f055b4b 10.0.0.14 10.77.0.23 172.18.0.4",
       "ms": 1.3,
       "ok": true
      },
      {
       "line": "hello from 46971f055b4b 10.0.0.14 10.77.0.23 172.18.0.4",
       "ms": 1.4,
       "ok": true
      }
     ],
     "url": "http://10.77.0.23:8080/"
    }
   ]
  }
 }
}
""")


@pytest.mark.parametrize("case, mode, diagnosis", [
    ("vip", "vip", "IPVS missing in the kernel of node swarmnet-lab-manager1"),
    ("rr", "dnsrr", None),
    ("rr_vxlan", "dnsrr", "the data path port 4789/udp (VXLAN) is blocked between the probing node swarmnet-lab-manager1 and swarmnet-lab-worker1"),
    ("ingonly", "unresolvable", "the service is not attached to that network (its networks: ingress)"),
])
def test_recorded_lab_probes(case, mode, diagnosis):
    ctx, raw = RECORDED[case]["context"], RECORDED[case]["raw"]
    result = ep.analyse(ctx, raw)
    assert result["endpoint_mode"] == mode
    if diagnosis is None:
        assert result["diagnoses"] == []
    else:
        assert len(result["diagnoses"]) == 1 and diagnosis in result["diagnoses"][0]


def test_recorded_dnsrr_rotation_reaches_every_node():
    result = ep.analyse(RECORDED["rr"]["context"], RECORDED["rr"]["raw"])
    name = result["targets"][0]
    assert name["group"] == "name" and len(name["responders"]) == 3
    assert sorted(name["resolved_to"]) == ["10.77.0.10", "10.77.0.11", "10.77.0.26"]
    tasks = [t for t in result["targets"] if t["group"] == "task"]
    assert sorted(t["node"] for t in tasks if t["responders"]) == ["swarmnet-lab-manager1", "swarmnet-lab-worker1", "swarmnet-lab-worker2"]
    ctx = RECORDED["rr"]["context"]
    assert ep.check_expectations(result, ctx, True, "dnsrr", 3, 0) == []


def test_recorded_vip_assertions_fail_with_cause():
    ctx = RECORDED["vip"]["context"]
    result = ep.analyse(ctx, RECORDED["vip"]["raw"])
    assert result["dns"]["name"] == ["10.77.0.2"] and result["dns"]["tasks"] == ["10.77.0.23", "10.77.0.25", "10.77.0.27"]
    failed = ep.check_expectations(result, ctx, expect_endpoint_mode="vip", min_responders=2)
    assert failed == ["expected at least 2 distinct responders via name probe-hello-vip, saw 0 (3 of 3 failed: timeout x3)",
                      "expected at least 2 distinct responders via vip 10.77.0.2, saw 0 (3 of 3 failed: timeout x3)"]
    assert "IPVS missing in the kernel of node swarmnet-lab-manager1" in ep.failure_message(failed, result["diagnoses"])

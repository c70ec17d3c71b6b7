"""The firewall role on the three backends in one swarm, each found by detection:
manager1 has ufw on, worker1 firewalld running, worker2 neither (iptables), all with
default deny. The swarm runs on the nodes' second NIC (eth1); the default route
(eth0, towards this machine, the lab network's gateway) is the wrong address."""

import json
import os
import subprocess

import pytest
import yaml
from conftest import INVENTORY, REPO, answers_here, node, recap_by_host, recap_changed, run_module, run_playbook, wait_for
from swarmlab import _ansible_env  # pylint: disable=import-error

BACKENDS = {"manager1": "ufw", "worker1": "firewalld", "worker2": "iptables"}
FIREWALL_PLAYBOOK = "molecule/lab/firewall.yml"


def _backend(name):
    # Nodes not named (the spare) run neither ufw nor firewalld.
    return BACKENDS.get(name.rsplit("-", 1)[1], "iptables")


def _facts(name):
    failed, result = run_module(name, "swarmnet.overlay.node_facts", {"advertise_addr": "eth1"})
    assert not failed, result.get("msg")
    return result["node"]


_ADDRESSES = {}


def _addresses(name):
    """(eth0, eth1) IPv4 addresses of a lab node, as its kernel has them (read once)."""
    if name not in _ADDRESSES:
        out = node(name).check_output("ip -o -4 addr show")
        found = {line.split()[1]: line.split()[3].split("/")[0] for line in out.splitlines()}
        _ADDRESSES[name] = (found["eth0"], found["eth1"])
    return _ADDRESSES[name]


@pytest.fixture(scope="module")
def read_nodes(swarm_nodes):
    """node_facts of every swarm node, read once after converge."""
    return {name: _facts(name) for name in swarm_nodes}


def _allowed_sources(name):
    """The sources the node's firewall allows the swarm ports from, read from the firewall itself."""
    host = node(name)
    backend = _backend(name)
    if backend == "ufw":
        out = host.check_output("ufw show added")
        return sorted(set(w.split()[w.split().index("from") + 1] for w in out.splitlines() if "app swarmnet" in w))
    if backend == "firewalld":
        out = host.check_output("firewall-cmd --list-rich-rules")
        return sorted(set(line.split('address="')[1].split('"')[0] for line in out.splitlines() if 'port="7946"' in line))
    out = host.check_output("iptables -S SWARMNET-INPUT")
    return sorted(set(line.split(" -s ")[1].split("/")[0] for line in out.splitlines() if "--dport 7946" in line))


def _node_connects(name, address, port):
    code = "import socket; socket.create_connection((%r, %d), 3).close()" % (address, port)
    return node(name).run("python3 -c %s" % json.dumps(code)).rc == 0


def _firewall_state(name):
    # One command on the node (each command over the ansible backend costs a run of its own).
    commands = ("ufw show added", "ufw status verbose", "firewall-cmd --list-all", "firewall-cmd --permanent --list-all", "iptables -S")
    return node(name).run("; ".join("echo '### %s'; %s 2>&1" % (cmd, cmd) for cmd in commands)).stdout


def test_each_node_uses_its_detected_firewall_with_default_deny(swarm_nodes, read_nodes):
    seen = {}
    for name in swarm_nodes:
        facts = read_nodes[name]
        firewall = facts["firewall"]
        seen[name] = firewall["backend"]
        assert firewall["backend"] == _backend(name), name
        if firewall["backend"] == "ufw":
            assert firewall["ufw"]["active"] and firewall["ufw"]["default_incoming"] == "deny"
        elif firewall["backend"] == "firewalld":
            # In effect now (runtime), in the zone that holds the rules.
            zone = firewall["firewalld"]["zone"]
            assert firewall["firewalld"]["runtime"]["target"] == "DROP", zone
            assert any('port="7946"' in r for r in firewall["firewalld"]["runtime"]["rich_rules"]), zone
        else:
            assert firewall["iptables"]["input_policy"] == "DROP" and firewall["iptables"]["input_jumps_first"]
    print("backends:", json.dumps(seen))


def test_sources_are_every_nodes_eth1_address_not_the_default_route(swarm_nodes, read_nodes):
    private = sorted(_addresses(name)[1] for name in swarm_nodes)
    for name in swarm_nodes:
        assert read_nodes[name]["addresses"]["advertise"] == _addresses(name)[1]
        assert read_nodes[name]["addresses"]["default_route_interface"] == "eth0"
        assert _allowed_sources(name) == private, name


def test_swarm_ports_refuse_this_machine_while_ssh_stays_open(groups, swarm_nodes, read_nodes):
    manager = groups["swarm_managers"][0]
    manager_eth0, manager_eth1 = _addresses(manager)
    # From a node (eth1, an allowed source) the manager's control port answers ...
    assert _node_connects(groups["swarm_workers"][-1], manager_eth1, 2377)
    # ... from this machine (the gateway, not a cluster node) it does not, on either NIC.
    assert not answers_here(manager_eth0, 2377)
    assert not answers_here(manager_eth1, 2377)
    for name in swarm_nodes:
        eth0, _eth1 = _addresses(name)
        assert 22 in read_nodes[name]["ssh"]["listen_ports"], name
        assert answers_here(eth0, 22), "%s (%s): sshd must stay reachable" % (name, _backend(name))
        assert not answers_here(eth0, 7946), "%s (%s): 7946 open to a non-node" % (name, _backend(name))


def _run_with_inventory(inventory, playbook, *args):
    extra = json.loads(os.environ.get("SWARMNET_LAB_EXTRA_VARS") or '{"firewall_default_deny": true}')
    out = subprocess.run(["ansible-playbook", "-i", inventory, "-e", json.dumps(extra), *args, os.path.join(REPO, playbook)],
                         env=_ansible_env(ANSIBLE_NOCOLOR="1"), cwd=REPO, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, check=False)
    return out.returncode, out.stdout


def test_rules_of_a_node_removed_from_the_inventory_disappear_and_come_back(tmp_path, host, groups, swarm_nodes):
    leaving = groups["swarm_workers"][-1]
    leaving_eth1 = _addresses(leaving)[1]
    staying = [n for n in swarm_nodes if n != leaving]
    with open(INVENTORY) as handle:
        inventory = yaml.safe_load(handle)
    del inventory["all"]["children"]["swarm"]["children"]["swarm_workers"]["hosts"][leaving]
    smaller = tmp_path / "inventory.yml"
    smaller.write_text(yaml.safe_dump(inventory))
    try:
        rc, out = _run_with_inventory(str(smaller), FIREWALL_PLAYBOOK)
        assert rc == 0, out[-3000:]
        for name in staying:
            assert leaving_eth1 not in _allowed_sources(name), "%s (%s) still allows %s" % (name, _backend(name), leaving_eth1)
    finally:
        rc, out = run_playbook(FIREWALL_PLAYBOOK)
    assert rc == 0, out[-3000:]
    for name in staying:
        assert leaving_eth1 in _allowed_sources(name), name
    ready = wait_for(lambda: host.check_output("docker node ls --format '{{.Hostname}} {{.Status}}'").count("Ready") == len(swarm_nodes))
    assert ready, host.check_output("docker node ls")


def test_a_partial_run_without_any_manager_changes_nothing(groups):
    # Used to fail every host ("HostVarsVars has no attribute firewall_node_address").
    worker = groups["swarm_workers"][-1]
    rc, out = run_playbook(FIREWALL_PLAYBOOK, "--limit", worker)
    assert rc == 0 and recap_changed(out) == 0, out[-3000:]
    flat = " ".join(out.split())  # the result callback wraps long messages
    assert "is unknown here" in flat and "nothing is removed" in flat, out[-3000:]


@pytest.mark.parametrize("target,extra,expect", [
    ("manager1", {"firewall_extra_sources": ["10.0.0.300"]}, ["firewall_extra_sources", "10.0.0.300", "not an IPv4 address or CIDR"]),
    ("worker1", {"firewall_published_sources": ["fd00::1"]}, ["firewall_published_sources", "fd00::1", "IPv6"]),
    ("worker2", {"firewall_backend": "nftables"}, ["firewall_backend", "nftables"]),
    ("worker1", {"swarm_advertise_addr": "eth9"}, ["advertise_addr", "eth9", "eth0, eth1"]),
    ("manager1", {"swarmnet_node_address": "fd00::13"}, ["swarmnet_node_address", "fd00::13", "IPv6"]),
    # Every bad value at once, each named: a list entry and Ansible's own port.
    ("worker2", {"firewall_ssh_ports": [70000], "firewall_ssh_port": 99999},
     ["firewall_ssh_ports: 70000 is not a TCP port", "firewall_ssh_port (default: ansible_port): 99999 is not a TCP port"]),
])
def test_bad_input_fails_for_the_host_naming_the_field_and_changes_nothing(groups, swarm_nodes, target, extra, expect):
    name = [n for n in swarm_nodes if n.endswith("-" + target)][0]
    before = _firewall_state(name)
    rc, out = run_playbook(FIREWALL_PLAYBOOK, "--limit", name, **extra)
    assert rc != 0, out[-3000:]
    flat = " ".join(out.split())  # the result callback wraps long messages
    for text in expect:
        assert text in flat, (text, out[-3000:])
    assert "changed=0" in out
    assert _firewall_state(name) == before


def test_a_bad_node_address_fails_its_host_only_and_is_no_source_for_the_others(tmp_path, groups, swarm_nodes):
    # Used to reach the other hosts' rules: each of them failed with
    # "iptables-restore ... host/network `node-2.example' not found".
    bad = groups["swarm_workers"][-1]
    with open(INVENTORY) as handle:
        inventory = yaml.safe_load(handle)
    inventory["all"]["children"]["swarm"]["children"]["swarm_workers"]["hosts"][bad] = dict(
        inventory["all"]["children"]["swarm"]["children"]["swarm_workers"]["hosts"][bad] or {},
        swarmnet_node_address="node-2.example")
    with_bad = tmp_path / "inventory.yml"
    with_bad.write_text(yaml.safe_dump(inventory))
    before = {name: _firewall_state(name) for name in swarm_nodes}
    rc, out = _run_with_inventory(str(with_bad), FIREWALL_PLAYBOOK)
    assert rc != 0, out[-3000:]
    flat = " ".join(out.split())  # the result callback wraps long messages
    assert 'swarmnet_node_address: "node-2.example" is not an IPv4 address' in flat, out[-3000:]
    recap = recap_by_host(out)
    for name in swarm_nodes:
        assert ("failed=1" if name == bad else "failed=0") in recap[name], (name, recap)
        assert "changed=0" in recap[name], (name, recap)
        assert _firewall_state(name) == before[name], name
    assert "node-2.example" not in flat.replace('"node-2.example" is not', ""), out[-3000:]

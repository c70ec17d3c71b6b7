"""The VMs as real hosts behind a firewall: each runs the backend switched on in it
(molecule/vagrant/prepare.yml from SWARMNET_VAGRANT_FIREWALLS: ufw on one, firewalld on another, plain
iptables on the third), the firewall role found it by itself, and with firewall_default_deny inbound
traffic is dropped but for SSH and the swarm, which stay open."""

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import LAB_NAME, answers_here, node, run_module, wait_for

LISTENER_PORT = 9998   # not a swarm port: default deny must drop it from this machine


def expected_backend(name, lab_name):
    """What prepare.yml switched on in this VM (SWARMNET_VAGRANT_FIREWALLS), else iptables."""
    chosen = dict(v.split("=", 1) for v in os.environ.get("SWARMNET_VAGRANT_FIREWALLS", "").split())
    return chosen.get(name[len(lab_name) + 1:], "iptables")


@pytest.fixture(scope="module")
def facts(lab_nodes):
    """Each VM's node_facts, read side by side (a module run takes half a minute under TCG)."""
    names = [n["name"] for n in lab_nodes]
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        runs = list(pool.map(lambda name: run_module(name, "swarmnet.overlay.node_facts", {"advertise_addr": "eth1"}),
                             names))
    for name, (failed, result) in zip(names, runs):
        assert not failed, "%s: %s" % (name, result.get("msg"))
    return {name: result["node"] for name, (dummy, result) in zip(names, runs)}


def test_each_vm_uses_the_firewall_in_charge_with_default_deny(lab_nodes, facts):
    seen = {}
    for wanted in lab_nodes:
        firewall = facts[wanted["name"]]["firewall"]
        seen[wanted["name"]] = firewall["backend"]
        assert firewall["backend"] == expected_backend(wanted["name"], LAB_NAME), wanted["name"]
        if firewall["backend"] == "ufw":
            assert firewall["ufw"]["active"] and firewall["ufw"]["default_incoming"] == "deny"
        elif firewall["backend"] == "firewalld":
            assert firewall["firewalld"]["runtime"]["target"] == "DROP", firewall["firewalld"]["zone"]
        else:
            assert firewall["iptables"]["input_policy"] == "DROP" and firewall["iptables"]["input_jumps_first"]
        # The collection found the node's address on eth1 itself: the inventory gives none.
        assert facts[wanted["name"]]["addresses"]["advertise"] == wanted["address"]
    print("backends:", json.dumps(seen))


def test_default_deny_drops_other_ports_while_ssh_stays_open(inventory_hosts, lab_nodes):
    for wanted in lab_nodes:
        vm, hostvars = node(wanted["name"]), inventory_hosts[wanted["name"]]
        eth0 = hostvars["ansible_host"]
        key = hostvars["ansible_private_key_file"]   # Molecule's inventory: the key Vagrant made for this VM
        # A listener on every address of the VM, for 60 s: the VM itself reaches it ...
        vm.check_output("nohup timeout 60 python3 -m http.server %d >/dev/null 2>&1 &" % LISTENER_PORT)
        probe = "python3 -c 'import socket; socket.create_connection((\"%s\", %d), 3)'" % (eth0, LISTENER_PORT)
        assert wait_for(lambda: vm.run(probe).rc == 0, timeout=30), wanted["name"]
        # ... this machine does not, while a new SSH login (no shared connection) works.
        assert not answers_here(eth0, LISTENER_PORT), "%s: %d open to this machine" % (wanted["name"], LISTENER_PORT)
        login = subprocess.run(
            ["ssh", "-i", key, "-p", str(hostvars["ansible_port"]),
             "-o", "ControlPath=none", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
             "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=20",
             "%s@%s" % (hostvars["ansible_user"], eth0), "true"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
        assert login.returncode == 0, "%s: new SSH login failed: %s" % (wanted["name"], login.stdout)

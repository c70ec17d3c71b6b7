"""Shared fixtures for the Vagrant scenarios' testinfra checks (vagrant, vagrant-smoke).

The verifier runs these tests once, on the first manager (hosts:
ansible://swarm_managers); the other VMs are reached through the same inventory,
and the published port is also requested from this machine (the VMs' private
addresses are on a libvirt network of this machine). Helpers shared with the
node-container scenarios come from molecule/common/swarmlab.py; its run_playbook
gives every run the scenario's SWARMNET_LAB_EXTRA_VARS (default deny, published sources).
"""

import os
import shlex
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "common"))
# pylint: disable-next=wrong-import-position,unused-import
from swarmlab import (  # noqa: E402,F401
    REPO, answers_here, docker_json, node, node_list, recap_changed, run_module, run_playbook, wait_for,
)


def pytest_configure(config):
    # The checks that cost most of an hour under TCG (the runbooks end to end in VIP mode, the rolling reboot)
    # and the ESP cut (its client's attach times out under load) carry this marker: scripts/test.sh vagrant
    # leaves them out to stay within CI's budget, vagrant_full runs all.
    config.addinivalue_line("markers", "vagrant_full: run by scripts/test.sh vagrant_full only (about 30 minutes more under TCG)")
    # The rolling reboot alone (about 11 minutes) beside the default checks:
    # SWARMNET_VAGRANT_CHECKS="not vagrant_full or vagrant_roll" scripts/test.sh vagrant
    config.addinivalue_line("markers", "vagrant_roll: the rolling reboot of the workers (also vagrant_full)")


LAB_NAME = os.environ.get("SWARMNET_VAGRANT_NAME", "swarmnet")
# Molecule's inventory of the VMs (the Vagrant driver's: SSH address, port, user and key per VM).
INVENTORY = os.environ.get(
    "SWARMNET_INVENTORY",
    os.path.join(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", ""), "inventory", "ansible_inventory.yml"))
# The first three octets of the private network; the platforms (molecule.yml) give <net>.11, .12, ... in
# inventory order.
PRIVATE_NET = os.environ.get("SWARMNET_VAGRANT_NET", "192.168.56")

# An HTTP server image without a registry: each VM's own python3, imported by ../build-python-image.sh (prepare.yml
# runs it; the fixture python_image runs it again, a no-op where the image is there).
PY_IMAGE = "swarmnet/python-base:local"
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build-python-image.sh")) as _script:
    BUILD_PY_IMAGE = "bash -c %s build-python-image.sh %s" % (shlex.quote(_script.read()), PY_IMAGE)

# The service: a tiny HTTP server answering its host name, which the service sets
# to "<node>-<slot>" (Go templates in --hostname), so each answer names replica and node.
SERVER = r"""
import http.server, socket
class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = (socket.gethostname() + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("", 8080), Hello).serve_forever()
"""

# The client, run in a container on the overlay network: resolves NAME, then sends
# COUNT requests to URL, each on a new connection; prints JSON.
CLIENT = r"""
import json, socket, sys, urllib.request
name, url, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
try:
    addresses = sorted({a[4][0] for a in socket.getaddrinfo(name, 8080, socket.AF_INET, socket.SOCK_STREAM)})
except OSError as exc:
    addresses = ["error: %s" % exc]
answers = []
for _ in range(count):
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            answers.append(resp.read().decode().strip())
    except Exception as exc:
        answers.append("error: %s" % exc)
print(json.dumps({"addresses": addresses, "answers": answers}))
"""


def quote(text):
    return shlex.quote(text)


@pytest.fixture(scope="session")
def inventory():
    with open(INVENTORY) as handle:
        return yaml.safe_load(handle)


def hosts_of(inventory, group):
    """{VM name: its inventory variables} of one group of the lab's inventory."""
    return inventory["swarm"]["children"].get(group, {}).get("hosts") or {}


@pytest.fixture(scope="session")
def inventory_hosts(inventory):
    """{VM name: its inventory variables (ansible_host is eth0's address, the SSH key, ...)}, managers first."""
    found = {}
    for group in ("swarm_managers", "swarm_workers"):
        found.update(hosts_of(inventory, group))
    return found


@pytest.fixture(scope="session")
def lab_nodes(inventory):
    """[{name, address, role}] in inventory order: managers first."""
    found = []
    for group, role in (("swarm_managers", "manager"), ("swarm_workers", "worker")):
        for name in hosts_of(inventory, group):
            # As the collection finds it: the address on the VM's eth1 (the inventory gives none).
            out = node(name).check_output("ip -o -4 addr show dev eth1")
            found.append({"name": name, "address": out.split()[3].split("/")[0], "role": role})
    return found


@pytest.fixture(scope="module")
def groups(host):
    return host.ansible.get_variables()["groups"]


@pytest.fixture(scope="module")
def swarm_nodes(lab_nodes):
    return [n["name"] for n in lab_nodes]


@pytest.fixture(scope="session")
def python_image(lab_nodes):
    """PY_IMAGE on every VM (built side by side where prepare.yml has not)."""
    with ThreadPoolExecutor(max_workers=len(lab_nodes)) as pool:
        builds = list(pool.map(lambda n: node(n["name"]).run(BUILD_PY_IMAGE), lab_nodes))
    for wanted, result in zip(lab_nodes, builds):
        assert result.rc == 0, "building %s on %s: %s" % (PY_IMAGE, wanted["name"], result.stderr)
    return PY_IMAGE

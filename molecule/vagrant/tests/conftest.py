"""Shared fixtures for the Vagrant scenarios' testinfra checks (vagrant, vagrant-smoke).

The verifier runs these tests once, on the first manager (hosts:
ansible://swarm_managers); the other VMs are reached through the same inventory,
and the published port is also requested from this machine (the VMs' private
addresses are on a libvirt network of this machine).
"""

import json
import os
import shlex
import subprocess
import sys
import time

import pytest
import testinfra
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
LAB_NAME = os.environ.get("SWARMNET_VAGRANT_NAME", "swarmnet")
INVENTORY = os.environ.get(
    "SWARMNET_INVENTORY", os.path.join(REPO, "lab", ".state", "vagrant", LAB_NAME, "inventory.yml"))

# An HTTP server image without a registry: each VM's own python3, imported (built on demand).
PY_IMAGE = "swarmnet/python-base:local"
BUILD_PY_IMAGE = r"""
set -eu
docker image inspect %(image)s >/dev/null 2>&1 && exit 0
v="$(python3 -c 'import sys; print("%%d.%%d" %% sys.version_info[:2])')"
multiarch="$(python3 -c 'import sysconfig; print(sysconfig.get_config_var("MULTIARCH"))')"
tar -C / --exclude=__pycache__ -cf - bin lib lib64 usr/lib64 "usr/bin/python$v" usr/bin/python3 \
    "usr/lib/python$v" "usr/lib/$multiarch" etc/ssl/certs 2>/dev/null |
    docker import --change 'CMD ["python3"]' - %(image)s >/dev/null
""" % {"image": PY_IMAGE}

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


def node(name):
    """A testinfra host for another VM of the lab."""
    return testinfra.get_host("ansible://%s" % name, ansible_inventory=INVENTORY)


def wait_for(probe, timeout=120, interval=3):
    """Poll probe() until it returns a truthy value; return the last value."""
    deadline = time.time() + timeout
    value = probe()
    while not value and time.time() < deadline:
        time.sleep(interval)
        value = probe()
    return value


def docker_json(host, *args):
    return json.loads(host.check_output("docker " + " ".join(args)))


def quote(text):
    return shlex.quote(text)


@pytest.fixture(scope="session")
def inventory():
    with open(INVENTORY) as handle:
        return yaml.safe_load(handle)


@pytest.fixture(scope="session")
def lab_nodes(inventory):
    """[{name, address, role}] in inventory order: managers first."""
    found = []
    for group, role in (("swarm_managers", "manager"), ("swarm_workers", "worker")):
        hosts = inventory["swarm"]["children"].get(group, {}).get("hosts") or {}
        for name, hostvars in hosts.items():
            found.append({"name": name, "address": hostvars["swarmnet_node_address"], "role": role})
    return found


@pytest.fixture(scope="module")
def groups(host):
    return host.ansible.get_variables()["groups"]


@pytest.fixture(scope="module")
def swarm_nodes(lab_nodes):
    return [n["name"] for n in lab_nodes]


def run_module(hostname, module, args, check=False):
    """Run one module ad hoc on a VM; return (failed, result)."""
    env = dict(os.environ, ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".collections"))
    # The venv's ansible, also when the venv is not on PATH.
    ansible = os.path.join(os.path.dirname(sys.executable), "ansible")
    out = subprocess.run([ansible, "-i", INVENTORY, hostname, "-m", module, "-a", json.dumps(args)]
                         + (["--check"] if check else []),
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, check=False)
    result = json.loads(out.stdout)["plays"][0]["tasks"][0]["hosts"][hostname]
    return bool(result.get("failed")), result

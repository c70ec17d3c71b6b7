"""Shared fixtures for the lab scenario's testinfra checks.

The verifier runs these tests once, on the first manager (hosts:
ansible://swarm_managers); other nodes are reached through the same inventory.
"""

import json
import os
import re
import subprocess
import time

import pytest
import testinfra

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
INVENTORY = os.environ.get(
    "SWARMNET_INVENTORY", os.path.join(REPO, "lab", ".state", "swarmnet-molecule", "inventory.yml"))


def node(name):
    """A testinfra host for another node of the lab."""
    return testinfra.get_host("ansible://%s" % name, ansible_inventory=INVENTORY)


def wait_for(probe, timeout=60, interval=2):
    """Poll probe() until it returns a truthy value; return the last value."""
    deadline = time.time() + timeout
    value = probe()
    while not value and time.time() < deadline:
        time.sleep(interval)
        value = probe()
    return value


def docker_json(host, *args):
    return json.loads(host.check_output("docker " + " ".join(args)))


@pytest.fixture(scope="module")
def groups(host):
    return host.ansible.get_variables()["groups"]


@pytest.fixture(scope="module")
def swarm_nodes(groups):
    return groups["swarm_managers"] + groups.get("swarm_workers", [])


def run_module(hostname, module, args, check=False):
    """Run one module ad hoc on a lab node; return (failed, result).

    testinfra's host.ansible() cannot tell a failure here: ansible-core 2.21
    no longer writes "failed" into --tree files, so use the json callback.
    """
    env = dict(os.environ, ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".collections"))
    out = subprocess.run(["ansible", "-i", INVENTORY, hostname, "-m", module, "-a", json.dumps(args)] + (["--check"] if check else []),
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, check=False)
    result = json.loads(out.stdout)["plays"][0]["tasks"][0]["hosts"][hostname]
    return bool(result.get("failed")), result


def run_playbook(playbook, **extra_vars):
    """Run one of the collection's playbooks on the lab; return (rc, output).

    Molecule converges the lab with firewall_default_deny=true, so every run
    here keeps it too.
    """
    extra = dict({"firewall_default_deny": True}, **extra_vars)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".collections"), ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_NOCOLOR="1")
    out = subprocess.run(["ansible-playbook", "-i", INVENTORY, "-e", json.dumps(extra), os.path.join(REPO, playbook)],
                         env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    return out.returncode, out.stdout


def recap_changed(output):
    """Total of changed= over the PLAY RECAP lines of an ansible-playbook run."""
    return sum(int(n) for n in re.findall(r"changed=(\d+)", output))

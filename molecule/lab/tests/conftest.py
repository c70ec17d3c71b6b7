"""Shared fixtures for the lab scenario's testinfra checks.

The verifier runs these tests once, on the first manager (hosts:
ansible://swarm_managers); other nodes are reached through the same inventory.
"""

import json
import os
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


@pytest.fixture(scope="session")
def groups(host):
    return host.ansible.get_variables()["groups"]


@pytest.fixture(scope="session")
def swarm_nodes(groups):
    return groups["swarm_managers"] + groups.get("swarm_workers", [])

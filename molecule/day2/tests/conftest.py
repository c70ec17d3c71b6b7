"""Fixtures for the day2 scenario's testinfra checks; helpers in molecule/common/swarmlab.py.

Tests here break the cluster on purpose (engines stopped, quorum lost, nodes
rolled, certificates rotated). Each test must leave the cluster as converged
(every node Ready with its inventory role, site.yml changed=0) for the next one.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "common"))
from swarmlab import INVENTORY, REPO, docker_json, node, node_list, recap_changed, run_module, run_playbook, start_playbook, wait_for  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import

# A tiny image the fault and quorum tests run, made on each node from its own /bin/sleep (no registry here).
SLEEP_IMAGE = "swarmnet-day2/sleep:local"

# Re-exported for the test modules (from conftest import ...).
__all__ = ["INVENTORY", "REPO", "SLEEP_IMAGE", "docker_json", "ensure_sleep_image", "node", "node_list", "recap_changed", "run_module",
           "run_playbook", "start_playbook", "wait_for"]


def ensure_sleep_image(hosts):
    """Make SLEEP_IMAGE on each of the hosts that lacks it."""
    for name in hosts:
        node(name).check_output(
            "docker image inspect %s >/dev/null 2>&1 || tar -C / -chf - bin/sleep lib/x86_64-linux-gnu/libc.so.6 "
            "lib64/ld-linux-x86-64.so.2 | docker import --change 'CMD [\"/bin/sleep\", \"infinity\"]' - %s"
            % (SLEEP_IMAGE, SLEEP_IMAGE))


@pytest.fixture(scope="module")
def groups(host):
    return host.ansible.get_variables()["groups"]


@pytest.fixture(scope="module")
def swarm_nodes(groups):
    return groups["swarm_managers"] + groups.get("swarm_workers", [])

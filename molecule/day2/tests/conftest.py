"""Fixtures for the day2 scenario's testinfra checks; helpers in molecule/common/swarmlab.py.

Tests here break the cluster on purpose (engines stopped, quorum lost, nodes
rolled, certificates rotated). Each test must leave the cluster as converged
(every node Ready with its inventory role, site.yml changed=0) for the next one.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "common"))
from swarmlab import INVENTORY, REPO, docker_json, node, recap_changed, run_module, run_playbook, wait_for  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import


@pytest.fixture(scope="module")
def groups(host):
    return host.ansible.get_variables()["groups"]


@pytest.fixture(scope="module")
def swarm_nodes(groups):
    return groups["swarm_managers"] + groups.get("swarm_workers", [])

"""Fixtures for the lab scenario's testinfra checks; helpers in molecule/common/swarmlab.py."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "common"))
from swarmlab import (  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import
    INVENTORY, REPO, answers_here, docker_json, node, node_list, recap_by_host, recap_changed, run_module, run_playbook, start_playbook,
    wait_for,
)

# Re-exported for the test modules (from conftest import ...).
__all__ = ["INVENTORY", "REPO", "answers_here", "docker_json", "node", "node_list", "recap_by_host", "recap_changed", "run_module", "run_playbook",
           "start_playbook", "wait_for"]


@pytest.fixture(scope="module")
def groups(host):
    return host.ansible.get_variables()["groups"]


@pytest.fixture(scope="module")
def swarm_nodes(groups):
    return groups["swarm_managers"] + groups.get("swarm_workers", [])

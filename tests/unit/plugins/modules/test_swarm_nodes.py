# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument validation of swarm_nodes: bad input fails before the engine is asked; docs match the argument_spec."""


import pytest
import yaml


from ansible_collections.swarmnet.overlay.plugins.module_utils.docker_client import DOCKER_COMMON_ARGS
from ansible_collections.swarmnet.overlay.tests.unit.plugins.modules.module_harness import FailJson, ReachedDocker, runner_without_docker

from ansible_collections.swarmnet.overlay.plugins.modules import swarm_nodes


@pytest.fixture
def run(monkeypatch):
    run_module = runner_without_docker(monkeypatch, swarm_nodes)
    return lambda args: run_module(swarm_nodes, args)


@pytest.mark.parametrize("node, field", [({"name": "n", "role": "boss"}, "role"),
                                         ({"name": "n", "availability": "off"}, "availability"),
                                         ({"role": "worker"}, "name")])
def test_bad_node_entry_names_the_field(run, node, field):
    with pytest.raises(FailJson) as err:
        run(dict(nodes=[node]))
    assert field in err.value.args[0]["msg"] and not err.value.args[0].get("changed")


def test_valid_input_reaches_docker(run):
    with pytest.raises(ReachedDocker) as err:
        run(dict(nodes=[{"name": "n1", "role": "manager", "labels": {"zone": "a"}}]))
    assert err.value.args[0]["remove_stale"] is True and err.value.args[0]["wait_ready"] is False


def test_documented_options_are_the_argument_spec():
    documented = yaml.safe_load(swarm_nodes.DOCUMENTATION)["options"]
    spec = swarm_nodes.argument_spec()
    assert set(documented) | set(DOCKER_COMMON_ARGS) == set(spec)
    assert set(documented["nodes"]["suboptions"]) == set(spec["nodes"]["options"])

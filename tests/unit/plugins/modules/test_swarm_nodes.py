# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument validation of swarm_nodes: bad input fails before the engine is asked; docs match the argument_spec."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
import yaml

from ansible.module_utils import basic

from ansible_collections.swarmnet.overlay.plugins.module_utils.docker_client import DOCKER_COMMON_ARGS
from ansible_collections.swarmnet.overlay.tests.unit.plugins.modules.module_harness import FailJson, exit_json, fail_json, module_args

from ansible_collections.swarmnet.overlay.plugins.modules import swarm_nodes


class ReachedDocker(Exception):
    pass


@pytest.fixture
def run(monkeypatch):
    def no_docker(module):
        raise ReachedDocker(module.params)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    monkeypatch.setattr(swarm_nodes, "get_docker_client", no_docker)

    def _run(args):
        with module_args(args):
            swarm_nodes.main()
    return _run


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

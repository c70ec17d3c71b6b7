# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument validation of swarm_join: bad input fails before any Docker engine is asked.

Only AnsibleModule.exit_json/fail_json are patched (to capture the result), and
get_docker_client is replaced by a sentinel that proves validation passed.
"""

import json
import socket

import pytest
import yaml


from ansible_collections.swarmnet.overlay.tests.unit.plugins.modules.module_harness import FailJson, ReachedDocker, runner_without_docker

from ansible_collections.swarmnet.overlay.plugins.doc_fragments.docker import ModuleDocFragment
from ansible_collections.swarmnet.overlay.plugins.modules import swarm_join

DIGEST_FIELD = "0hv8vxp2a75st21je9dz04vkevte9l90e87iyicpyy6extrsyu"
SECRET = "abcdefghijklmnopqrstuvwxy"  # made up
TOKEN = "SWMTKN-1-%s-%s" % (DIGEST_FIELD, SECRET)


@pytest.fixture
def run(monkeypatch):
    run_module = runner_without_docker(monkeypatch, swarm_join)
    return lambda args: run_module(swarm_join, args)


def fail_msg(run, args):
    with pytest.raises(FailJson) as err:
        run(args)
    result = err.value.args[0]
    assert SECRET not in json.dumps(result)
    assert not result.get("changed")
    return result["msg"]


def test_present_requires_token_and_managers(run):
    msg = fail_msg(run, dict(remote_addrs=["10.0.0.2"]))
    assert "join_token" in msg
    msg = fail_msg(run, dict(join_token=TOKEN))
    assert "remote_addrs" in msg


def test_role_choices(run):
    msg = fail_msg(run, dict(role="boss", remote_addrs=["10.0.0.2"], join_token=TOKEN))
    assert "role" in msg and "worker" in msg and "manager" in msg


@pytest.mark.parametrize("token,fragment", [
    ("SWMTKN-1-%s" % SECRET, "3 dash-separated parts instead of 4"),
    ("SWMTKN-1-%s-%sQ" % (DIGEST_FIELD, SECRET[:-1]), "other than 0-9 and a-z"),
    ("not-a-token-%s" % SECRET, "does not start with SWMTKN-"),
])
def test_bad_token_names_option_and_fix_without_token(run, token, fragment):
    msg = fail_msg(run, dict(remote_addrs=["10.0.0.2"], join_token=token))
    assert msg.startswith("join_token does not look like a swarm join token")
    assert fragment in msg and "docker swarm join-token -q worker" in msg


def test_bad_remote_addr(run):
    msg = fail_msg(run, dict(remote_addrs=["10.0.0.2:70000"], join_token=TOKEN))
    assert msg.startswith("remote_addrs:") and "invalid port" in msg


def test_empty_remote_addrs(run):
    msg = fail_msg(run, dict(remote_addrs=[], join_token=TOKEN))
    assert "remote_addrs" in msg


def test_missing_interface_is_named_with_the_node_interfaces(run):
    msg = fail_msg(run, dict(remote_addrs=["10.0.0.2"], join_token=TOKEN, advertise_addr="nosuchif0"))
    assert msg.startswith("advertise_addr: this node has no network interface named 'nosuchif0'")
    for _idx, name in socket.if_nameindex():
        assert name in msg


def test_data_path_addr_port_refused(run):
    msg = fail_msg(run, dict(remote_addrs=["10.0.0.2"], join_token=TOKEN, data_path_addr="10.0.0.5:4789"))
    assert msg.startswith("data_path_addr:") and "must not carry a port" in msg


def test_listen_addr_hostname_refused(run):
    msg = fail_msg(run, dict(remote_addrs=["10.0.0.2"], join_token=TOKEN, listen_addr="node1.example.org:2377"))
    assert msg.startswith("listen_addr:") and "not host names" in msg


def test_valid_input_reaches_docker_only_after_validation(run):
    with pytest.raises(ReachedDocker) as err:
        run(dict(remote_addrs=["10.0.0.2", "[fd00::2]:2377"], join_token=TOKEN, advertise_addr="lo", role="manager"))
    params = err.value.args[0]
    assert params["listen_addr"] == "0.0.0.0:2377" and params["force_rejoin"] is False


def test_absent_needs_no_token(run):
    with pytest.raises(ReachedDocker):
        run(dict(state="absent"))


def _doc_options():
    doc = yaml.safe_load(swarm_join.DOCUMENTATION)
    options = dict(yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"])
    options.update(doc["options"])
    assert doc["extends_documentation_fragment"] == ["swarmnet.overlay.docker"]
    return options


def test_documentation_matches_argument_spec():
    spec = swarm_join.argument_spec()
    options = _doc_options()
    assert sorted(spec) == sorted(options)
    for name, arg in spec.items():
        doc = options[name]
        assert doc.get("type", "str") == arg.get("type", "str"), name
        assert doc.get("default") == arg.get("default"), name
        assert doc.get("choices") == arg.get("choices"), name
        assert doc.get("elements") == arg.get("elements"), name
        assert doc.get("aliases") == arg.get("aliases"), name
    assert spec["join_token"]["no_log"] is True


def test_examples_and_return_are_yaml():
    assert yaml.safe_load(swarm_join.EXAMPLES)
    returned = yaml.safe_load(swarm_join.RETURN)
    assert set(returned) == {"node_id", "cluster_id", "role", "actions", "reason"}

"""After site.yml: the swarm holds every inventoried node with its role, and
swarm_join refuses bad input without touching the node."""

import json

import pytest
from conftest import docker_json, node, wait_for
from testinfra.modules.ansible import AnsibleException


def test_every_node_is_ready_with_its_inventoried_role(host, groups, swarm_nodes):
    listed = {}
    for line in host.check_output("docker node ls --format '{{json .}}'").splitlines():
        entry = json.loads(line)
        listed[entry["Hostname"]] = entry
    assert sorted(listed) == sorted(swarm_nodes)
    for name, entry in listed.items():
        assert entry["Status"] == "Ready", entry
        assert entry["Availability"] == "Active", entry
        expect_manager = name in groups["swarm_managers"]
        assert bool(entry["ManagerStatus"]) == expect_manager, (name, entry["ManagerStatus"])


def test_ingress_network_has_one_peer_per_node(host, swarm_nodes):
    def peers():
        found = docker_json(host, "network inspect ingress --format '{{json .Peers}}'") or []
        return found if len(found) == len(swarm_nodes) else None

    found = wait_for(peers, timeout=60)
    assert found, "ingress peers never reached one per node: %s" % host.check_output(
        "docker network inspect ingress --format '{{json .Peers}}'")
    # Peers are named by an engine hash; their IPs are the nodes' swarm addresses.
    node_addrs = [docker_json(host, "node inspect", name, "--format '{{json .Status.Addr}}'") for name in swarm_nodes]
    assert sorted(p["IP"] for p in found) == sorted(node_addrs)


@pytest.mark.parametrize("network,driver,scope", [("ingress", "overlay", "swarm"), ("docker_gwbridge", "bridge", "local")])
def test_swarm_networks_exist_on_every_node(swarm_nodes, network, driver, scope):
    for name in swarm_nodes:
        inspected = docker_json(node(name), "network inspect", network)[0]
        assert (inspected["Driver"], inspected["Scope"]) == (driver, scope), name


def _spare(groups):
    spares = groups.get("swarm_spares") or []
    assert spares, "the lab scenario brings up one spare node (lab.py --spares 1)"
    return node(spares[0])


def _join_fails(spare, **args):
    """Run swarm_join on the spare; return the failure message (the test fails if it succeeds)."""
    arg_text = " ".join("%s=%s" % item for item in args.items())
    with pytest.raises(AnsibleException) as failure:
        spare.ansible("swarmnet.overlay.swarm_join", arg_text, check=False)
    return failure.value.result.get("msg", "")


def _state(spare):
    return spare.check_output("docker info --format '{{.Swarm.LocalNodeState}}'")


def test_swarm_join_with_a_wrong_token_fails_and_leaves_the_node_alone(host, groups):
    spare = _spare(groups)
    real = host.check_output("docker swarm join-token -q worker")
    # Same cluster CA, wrong secret: the engine itself must refuse it.
    wrong = real[: -25] + "0" * 25
    manager_addr = host.check_output("docker info --format '{{.Swarm.NodeAddr}}'")
    assert _state(spare) == "inactive"
    msg = _join_fails(spare, role="worker", remote_addrs=manager_addr, join_token=wrong)
    assert "token" in msg.lower()
    assert wrong not in msg and real not in msg
    assert _state(spare) == "inactive"


def test_swarm_join_to_an_unreachable_manager_names_address_and_port(host, groups):
    spare = _spare(groups)
    token = host.check_output("docker swarm join-token -q worker")
    manager_ip = host.check_output("docker info --format '{{.Swarm.NodeAddr}}'")
    msg = _join_fails(spare, role="worker", remote_addrs="%s:2399" % manager_ip, join_token=token)
    assert "%s:2399" % manager_ip in msg
    assert token not in msg
    assert _state(spare) == "inactive"


def test_swarm_join_with_a_missing_interface_names_it(host, groups):
    spare = _spare(groups)
    token = host.check_output("docker swarm join-token -q worker")
    manager_ip = host.check_output("docker info --format '{{.Swarm.NodeAddr}}'")
    msg = _join_fails(spare, role="worker", remote_addrs=manager_ip, join_token=token, advertise_addr="eth9")
    assert "eth9" in msg and "advertise_addr" in msg
    assert _state(spare) == "inactive"

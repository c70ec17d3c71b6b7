"""After site.yml: the swarm holds every inventoried node with its role, and
swarm_join refuses bad input without touching the node."""

import json
import subprocess

import pytest
import yaml
from conftest import INVENTORY, REPO, docker_json, node, node_list, recap_by_host, run_module, wait_for
from swarmlab import _ansible_env  # pylint: disable=import-error


def test_every_node_is_ready_with_its_inventoried_role(host, groups, swarm_nodes):
    listed = dict((entry["Hostname"], entry) for entry in node_list(host))
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


def _join_fails(spare, tokens, **args):
    """Run swarm_join on the spare node; return its failure message. Fails the test if it succeeds.

    Tokens are checked by hand, not by assert, so that pytest never prints them.
    """
    name = spare.backend.host
    failed, result = run_module(name, "swarmnet.overlay.swarm_join", args)
    text = json.dumps(result)
    if any(token in text for token in tokens):
        pytest.fail("a join token appears in the module's result")
    assert failed, "swarm_join should have failed, got: %s" % result.get("msg", result.get("changed"))
    return result.get("msg", "")


def _state(spare):
    return spare.check_output("docker info --format '{{.Swarm.LocalNodeState}}'")


def test_swarm_join_with_a_wrong_token_fails_and_leaves_the_node_alone(host, groups):
    spare = _spare(groups)
    real = host.check_output("docker swarm join-token -q worker")
    # Same cluster CA, wrong secret: the engine itself must refuse it.
    wrong = real[: -25] + "0" * 25
    manager_addr = host.check_output("docker info --format '{{.Swarm.NodeAddr}}'")
    assert _state(spare) == "inactive"
    msg = _join_fails(spare, [real, wrong], role="worker", remote_addrs=manager_addr, join_token=wrong)
    assert "join_token" in msg and "valid join token" in msg
    assert _state(spare) == "inactive"


def test_swarm_join_to_an_unreachable_manager_names_address_and_port(host, groups):
    spare = _spare(groups)
    token = host.check_output("docker swarm join-token -q worker")
    manager_ip = host.check_output("docker info --format '{{.Swarm.NodeAddr}}'")
    msg = _join_fails(spare, [token], role="worker", remote_addrs="%s:2399" % manager_ip, join_token=token)
    assert "%s:2399" % manager_ip in msg
    assert _state(spare) == "inactive"


def test_swarm_join_with_a_missing_interface_names_it(host, groups):
    spare = _spare(groups)
    token = host.check_output("docker swarm join-token -q worker")
    manager_ip = host.check_output("docker info --format '{{.Swarm.NodeAddr}}'")
    msg = _join_fails(spare, [token], role="worker", remote_addrs=manager_ip, join_token=token, advertise_addr="eth9")
    assert "eth9" in msg and "advertise_addr" in msg
    assert _state(spare) == "inactive"


def test_swarm_join_joins_once_then_changes_nothing_and_leaves(host, groups):
    spare = _spare(groups)
    name = spare.backend.host
    token = host.check_output("docker swarm join-token -q worker")
    manager_ip = host.check_output("docker info --format '{{.Swarm.NodeAddr}}'")
    args = dict(role="worker", remote_addrs=manager_ip, join_token=token, advertise_addr="eth0")

    failed, checked = run_module(name, "swarmnet.overlay.swarm_join", args, check=True)
    assert not failed and checked["changed"] is True, checked.get("msg")
    assert _state(spare) == "inactive", "check mode must not join"

    failed, joined = run_module(name, "swarmnet.overlay.swarm_join", args)
    try:
        assert not failed and joined["changed"] is True, joined.get("msg")
        assert joined["role"] == "worker" and joined["node_id"]
        assert _state(spare) == "active"
        assert joined["node_id"] in host.check_output("docker node ls -q")

        failed, again = run_module(name, "swarmnet.overlay.swarm_join", args)
        assert not failed and again["changed"] is False, again.get("msg")
        assert again["node_id"] == joined["node_id"]
    finally:
        failed, left = run_module(name, "swarmnet.overlay.swarm_join", dict(state="absent"))
        if joined.get("node_id"):
            host.run("docker node rm --force %s" % joined["node_id"])
    assert not failed and left["changed"] is True, left.get("msg")
    assert _state(spare) == "inactive"


# The swarm role alone (it reads each node itself), as a runbook would import it, and after the engine role, as in
# site.yml (which reads the node for it); without the firewall role, which would open the swarm ports to the hosts
# of such an inventory.
SWARM_PLAY = """
- name: The swarm role
  hosts: swarm
  gather_facts: false
  roles: %s
"""
ROLES = {"alone": ["swarmnet.overlay.swarm"], "after-engine": ["swarmnet.overlay.engine", "swarmnet.overlay.swarm"]}


def _no_swarm_inventory(inventory, groups, case):
    """The lab's inventory made into one that describes no swarm: the spare node in both groups, or no manager."""
    swarm = inventory["all"]["children"]["swarm"]["children"]
    if case == "spare-in-both-groups":
        spare = groups["swarm_spares"][0]
        swarm["swarm_managers"]["hosts"][spare] = None
        swarm["swarm_workers"]["hosts"][spare] = None
        return [spare]
    swarm["swarm_workers"]["hosts"].update(swarm["swarm_managers"]["hosts"])
    swarm["swarm_managers"]["hosts"] = {}
    return sorted(swarm["swarm_workers"]["hosts"])


@pytest.mark.parametrize("roles", sorted(ROLES))
@pytest.mark.parametrize("case", ["spare-in-both-groups", "no-manager"])
def test_an_inventory_that_describes_no_swarm_fails_those_hosts_naming_the_groups_and_changes_nothing(
        tmp_path, host, groups, swarm_nodes, case, roles):
    with open(INVENTORY) as handle:
        inventory = yaml.safe_load(handle)
    failing = _no_swarm_inventory(inventory, groups, case)
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inventory))
    (tmp_path / "play.yml").write_text(SWARM_PLAY % json.dumps(ROLES[roles]))
    before = sorted((e["Hostname"], e["ManagerStatus"], e["Status"]) for e in node_list(host))
    out = subprocess.run(["ansible-playbook", "-i", str(tmp_path / "inventory.yml"), str(tmp_path / "play.yml")],
                         env=_ansible_env(ANSIBLE_NOCOLOR="1"), cwd=REPO, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, check=False)
    assert out.returncode != 0, out.stdout[-3000:]
    flat = " ".join(out.stdout.split())  # the result callback wraps long messages
    assert "the swarm role needs at least one host in the group 'swarm_managers' and each host in exactly one of " \
        "'swarm_managers' and 'swarm_workers' (set swarm_managers_group / swarm_workers_group" in flat, out.stdout[-3000:]
    recap = recap_by_host(out.stdout)
    for name in recap:
        assert ("failed=1" if name in failing else "failed=0") in recap[name], (name, recap)
        assert "changed=0" in recap[name], (name, recap)
    assert sorted(failing) == sorted(n for n in recap if "failed=1" in recap[n]), recap
    after = sorted((e["Hostname"], e["ManagerStatus"], e["Status"]) for e in node_list(host))
    assert after == before
    assert all(name in recap for name in swarm_nodes), recap

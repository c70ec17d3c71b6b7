# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The swarm_nodes planner: matching, role/label/availability changes, stale entries, the quorum guard."""


import pytest

from ansible_collections.swarmnet.overlay.plugins.module_utils import swarm_nodes_plan as snp


def api_node(node_id, hostname, role="worker", state="ready", availability="active", labels=None,
             reachability=None, leader=False, version=10):
    """One entry of GET /nodes, as Engine 20.10 returns it (only the fields the planner reads)."""
    node = {"ID": node_id, "Version": {"Index": version},
            "Spec": {"Role": role, "Availability": availability, "Labels": labels or {}},
            "Description": {"Hostname": hostname},
            "Status": {"State": state, "Addr": "192.168.213.%d" % (10 + len(hostname))}}
    if role == "manager":
        node["ManagerStatus"] = {"Leader": leader, "Reachability": reachability or "reachable",
                                 "Addr": "192.168.213.%d:2377" % (10 + len(hostname))}
    return node


CLUSTER = [api_node("m1", "node1", "manager", leader=True), api_node("w2", "node2"), api_node("w3", "node3")]


def test_converged_nodes_plan_nothing():
    wanted = [{"name": "node1", "role": "manager", "availability": "active", "labels": {}},
              {"name": "node2", "node_id": "w2", "role": "worker", "availability": "active", "labels": None}]
    result = snp.plan(wanted, CLUSTER)
    assert result["updates"] == [] and result["removals"] == [] and result["missing"] == []


def test_labels_merge_and_availability_change_are_one_update_per_node():
    nodes = [CLUSTER[0], api_node("w2", "node2", labels={"keep": "me"})]
    result = snp.plan([{"name": "node2", "labels": {"zone": 1}, "availability": "drain"}], nodes)
    (update,) = result["updates"]
    assert update["id"] == "w2" and update["version"] == 10
    assert update["after"] == {"role": "worker", "availability": "drain", "labels": {"keep": "me", "zone": "1"}}
    assert snp.node_spec(nodes[1]["Spec"], update["after"])["Labels"] == {"keep": "me", "zone": "1"}


def test_missing_nodes_are_listed_not_changed():
    result = snp.plan([{"name": "node9", "role": "worker"}], CLUSTER)
    assert result["missing"] == ["node9"] and result["updates"] == []


def test_promotions_come_before_demotions():
    nodes = [api_node("m1", "node1", "manager", leader=True), api_node("m2", "node2", "manager"),
             api_node("m3", "node3", "manager"), api_node("w4", "node4")]
    result = snp.plan([{"name": "node3", "role": "worker"}, {"name": "node4", "role": "manager"}], nodes)
    assert [u["name"] for u in result["updates"]] == ["node4", "node3"]
    assert result["refused"] == []


@pytest.mark.parametrize("managers, reachable, allowed", [
    (1, 1, False),  # the last manager
    (2, 2, True),   # 1 of 1 left
    (3, 2, False),  # 2 left, 1 reachable: no majority
    (3, 3, True),
    (5, 3, False),
    (5, 4, True),
])
def test_quorum_guard(managers, reachable, allowed):
    assert snp.demotion_keeps_quorum(managers, reachable) is allowed


def test_demotion_that_loses_quorum_is_refused_and_not_planned():
    # node_role.yml and site.yml share this rule: 3 managers, one unreachable, demote a reachable one.
    nodes = [api_node("m1", "node1", "manager", leader=True), api_node("m2", "node2", "manager"),
             api_node("m3", "node3", "manager", state="down", reachability="unreachable")]
    result = snp.plan([{"name": "node2", "role": "worker"}], nodes)
    assert result["updates"] == []
    assert "refusing to demote node2" in result["refused"][0] and "3 manager(s), 2 reachable" in result["refused"][0]


def test_last_manager_is_never_demoted():
    result = snp.plan([{"name": "node1", "role": "worker"}], [api_node("m1", "node1", "manager", leader=True)])
    assert result["updates"] == [] and result["refused"]


def test_stale_down_entry_of_a_ready_node_is_removed():
    nodes = CLUSTER + [api_node("old2", "node2", state="down"), api_node("older2", "node2", state="down")]
    result = snp.plan([{"name": "node2", "node_id": "w2"}], nodes)
    assert sorted(e["id"] for e in result["removals"]) == ["old2", "older2"]
    assert "stale node2 (old2)" in snp.diff_view(result)["after"]


def test_the_only_entry_of_a_hostname_is_never_removed():
    nodes = [CLUSTER[0], api_node("w2", "node2", state="down")]
    result = snp.plan([{"name": "node2"}], nodes)
    assert result["removals"] == []


def test_down_entry_of_a_hostname_outside_the_inventory_is_kept():
    nodes = CLUSTER + [api_node("x", "other", state="down")]
    assert snp.plan([{"name": "node2"}], nodes)["removals"] == []


def test_stale_entry_kept_when_the_live_twin_is_not_ready():
    nodes = [CLUSTER[0], api_node("w2", "node2", state="unknown"), api_node("old2", "node2", state="down")]
    assert snp.plan([{"name": "node2", "node_id": "w2"}], nodes)["removals"] == []


def test_removing_a_stale_manager_entry_counts_in_the_guard():
    # 3 managers listed, one a Down stale entry of node1: counted, demoting node2 would leave 1 of 2 reachable
    # (refused); the stale entry goes first, so 2 of 2 become 1 of 1 and the demotion keeps the quorum.
    nodes = [api_node("m1", "node1", "manager", leader=True), api_node("m2", "node2", "manager"),
             api_node("m1old", "node1", "manager", state="down", reachability="unreachable")]
    result = snp.plan([{"name": "node1", "node_id": "m1"}, {"name": "node2", "role": "worker"}], nodes)
    assert [e["id"] for e in result["removals"]] == ["m1old"]
    assert [u["name"] for u in result["updates"]] == ["node2"] and result["refused"] == []
    kept = snp.plan([{"name": "node1", "node_id": "m1"}, {"name": "node2", "role": "worker"}], nodes, remove_stale=False)
    assert kept["updates"] == [] and kept["refused"]


def test_two_live_entries_with_one_hostname_need_a_node_id():
    nodes = CLUSTER + [api_node("w2b", "node2")]
    with pytest.raises(snp.PlanError, match="node2: 2 live entries"):
        snp.plan([{"name": "node2"}], nodes)
    assert snp.plan([{"name": "node2", "node_id": "w2b", "availability": "drain"}], nodes)["updates"][0]["id"] == "w2b"


@pytest.mark.parametrize("entry, field", [({"name": "n", "role": "boss"}, "nodes[n].role"),
                                          ({"name": "n", "availability": "off"}, "nodes[n].availability"),
                                          ({"role": "worker"}, "every entry needs a name")])
def test_bad_input_names_the_field(entry, field):
    with pytest.raises(snp.PlanError, match=field.replace("[", r"\[").replace("]", r"\]")):
        snp.plan([entry], CLUSTER)


def test_not_ready_and_manager_addresses():
    nodes = CLUSTER + [api_node("m4", "node4", "manager")]
    assert snp.not_ready([{"name": "node2"}, {"name": "node5"}], nodes) == ["node5"]
    assert snp.manager_addresses(nodes)[0] == "192.168.213.15:2377"  # the leader first


def test_a_rebuilt_hosts_older_entry_is_waited_for_until_down_then_stale():
    # node2 rebuilt: it joined as w2new while its old entry w2 has not missed enough heartbeats yet.
    rebuilt = [{"name": "node2", "node_id": "w2new"}]
    nodes = CLUSTER + [api_node("w2new", "node2")]
    assert [e["id"] for e in snp.live_twins(rebuilt, nodes)] == ["w2"]
    assert snp.plan(rebuilt, nodes)["removals"] == []  # not removable while it counts as Ready
    pending = snp.waiting_for(rebuilt, nodes)
    assert len(pending) == 1 and "older entry w2 of node2 still ready" in pending[0]
    later = [CLUSTER[0], api_node("w2", "node2", state="down"), CLUSTER[2], api_node("w2new", "node2")]
    assert snp.waiting_for(rebuilt, later) == []
    assert [e["id"] for e in snp.plan(rebuilt, later)["removals"]] == ["w2"]


def test_waiting_for_names_nodes_not_ready():
    nodes = [CLUSTER[0], api_node("w2", "node2", state="down")]
    assert snp.waiting_for([{"name": "node2"}, {"name": "node5"}], nodes) == ["node2 not Ready", "node5 not Ready"]
    assert snp.waiting_for([{"name": "node1"}], nodes) == []

# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The swarm role's node list for the first manager: the ID a node got by joining in this play wins."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.swarmnet.overlay.plugins.filter.swarm_plan import FilterModule

swarm_nodes_wanted = FilterModule().filters()["swarm_nodes_wanted"]


def plan(name, node_id="", role="worker"):
    return dict(name=name, node_id=node_id, role=role, labels={}, availability="active")


def test_hosts_that_did_not_join_keep_the_id_of_their_reading_in_play_order():
    hostvars = {"m1": dict(swarm_node_plan=plan("m1", "idm1", "manager"), swarm_manager_joined={}, swarm_worker_joined={}),
                "w1": dict(swarm_node_plan=plan("w1", "idw1"), swarm_worker_joined=dict(changed=False, node_id="idw1")),
                "w2": dict(swarm_node_plan=plan("w2", "idw2"))}
    wanted = [plan("w2", "idw2"), plan("m1", "idm1", "manager"), plan("w1", "idw1")]
    assert swarm_nodes_wanted(hostvars, ["w2", "m1", "w1"]) == wanted


def test_a_node_that_joined_in_this_play_is_listed_under_its_new_id():
    hostvars = {"w1": dict(swarm_node_plan=plan("w1", ""), swarm_worker_joined=dict(changed=True, node_id="new1")),
                "m2": dict(swarm_node_plan=plan("m2", "stale", "manager"),
                           swarm_manager_joined=dict(changed=True, node_id="new2"), swarm_worker_joined=dict(skipped=True))}
    assert [p["node_id"] for p in swarm_nodes_wanted(hostvars, ["w1", "m2"])] == ["new1", "new2"]
    assert hostvars["w1"]["swarm_node_plan"]["node_id"] == "", "the published plan itself is left as it is"


def test_a_join_in_check_mode_has_no_id_and_leaves_the_read_one():
    hostvars = {"w1": dict(swarm_node_plan=plan("w1", "old"), swarm_worker_joined=dict(changed=True, node_id=None))}
    assert swarm_nodes_wanted(hostvars, ["w1"])[0]["node_id"] == "old"


def test_a_host_without_a_plan_is_named():
    with pytest.raises(AnsibleFilterError, match="w3 has no swarm_node_plan"):
        swarm_nodes_wanted({"w3": {}}, ["w3"])

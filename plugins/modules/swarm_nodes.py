#!/usr/bin/python
# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: swarm_nodes
short_description: Give every swarm node its role, labels and availability in one run on a manager
description:
  - Runs on a swarm manager. Reads the node list once and, for every node in O(nodes), sets the role, the labels
    (merged into the node's own) and the availability, writing only the nodes that differ.
  - A demotion that would leave the swarm without a manager, or without a majority of reachable managers, is refused
    and nothing is changed. Promotions are applied before demotions.
  - With O(remove_stale=true), removes the C(Down) entries that a rejoin leaves behind (the same hostname is C(Ready)
    under another node ID). The only entry of a hostname is never removed.
  - Nodes of O(nodes) that are not in the swarm are left alone and listed in RV(missing); with O(wait_ready=true)
    the module waits until every one of them is in the swarm and C(Ready).
  - A host rebuilt with the same hostname joins under a new ID while its older entry still counts as C(Ready) until
    the managers miss its heartbeats. With O(wait_ready=true) the module also waits until such an older entry is
    C(Down), and then removes it (with O(remove_stale=true)).
version_added: 0.2.0
author:
  - swarmnet developers (@swarmnet)
extends_documentation_fragment:
  - swarmnet.overlay.docker
options:
  nodes:
    description:
      - The nodes to manage.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - The node's hostname as the swarm knows it (C(docker info --format '{{.Name}}') on the node).
        type: str
        required: true
      node_id:
        description:
          - The node's ID in the swarm (C(docker info --format '{{.Swarm.NodeID}}') on the node), when known. It picks
            the entry when several have the hostname.
        type: str
      role:
        description:
          - The role the node must have. Omitted, the role is left as it is.
        type: str
        choices: [manager, worker]
      labels:
        description:
          - Labels the node must carry; other labels of the node are kept.
        type: dict
      availability:
        description:
          - The node's availability. Omitted, it is left as it is.
        type: str
        choices: [active, pause, drain]
  remove_stale:
    description:
      - Remove C(Down) entries whose hostname is C(Ready) under another node ID (left by a rejoin).
    type: bool
    default: true
  wait_ready:
    description:
      - After the changes, wait until every node of O(nodes) is in the swarm and C(Ready), and no older entry with
        its hostname is still live. Not done in check mode.
    type: bool
    default: false
  ready_timeout:
    description:
      - Seconds to wait with O(wait_ready=true) before failing with the names of the nodes not C(Ready) and of
        the older entries still live.
    type: int
    default: 120
notes:
  - Labels are only added or changed, never removed (as C(community.docker.docker_node) with C(labels_state=merge)).
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: The node list is read; RV(actions) says what would be done, and no node is changed.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: Per node, role, availability and labels before and after, and the stale entries removed.
"""

EXAMPLES = r"""
- name: Give every node the role, labels and availability the inventory says
  swarmnet.overlay.swarm_nodes:
    nodes:
      - name: node1
        role: manager
      - name: node2
        role: worker
        labels:
          zone: a
        availability: active
    wait_ready: true
  when: inventory_hostname == groups['swarm_managers'][0]

- name: Demote a manager, unless that loses the quorum
  swarmnet.overlay.swarm_nodes:
    nodes:
      - name: node3
        role: worker
    remove_stale: false
"""

RETURN = r"""
nodes:
  description: Per name in O(nodes), the node's entry after the run, or null when it is not in the swarm.
  returned: always
  type: dict
  sample: {"node2": {"id": "k3n1...", "role": "worker", "availability": "active", "labels": {"zone": "a"},
           "state": "ready", "addr": "192.168.213.12"}}
missing:
  description: Names in O(nodes) that are not in the swarm (before any wait).
  returned: always
  type: list
  elements: str
removed:
  description: Stale entries removed (or that would be, in check mode).
  returned: always
  type: list
  elements: dict
  sample: [{"id": "x7c...", "hostname": "node2"}]
actions:
  description: What was done (or would be done, in check mode), one line each.
  returned: always
  type: list
  elements: str
all_ready:
  description: Whether every node of O(nodes) is in the swarm and C(Ready) at the end.
  returned: always
  type: bool
cluster_id:
  description: The swarm's cluster ID.
  returned: always
  type: str
manager_addrs:
  description: Addresses (C(ip:port)) of the reachable managers, the leader first; where other nodes join.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.swarmnet.overlay.plugins.module_utils.docker_client import docker_common_args, get_docker_client
from ansible_collections.swarmnet.overlay.plugins.module_utils.swarm_nodes_engine import NodesError, SwarmNodes
from ansible_collections.swarmnet.overlay.plugins.module_utils.swarm_nodes_plan import (
    PlanError,
    diff_view,
    manager_addresses,
    match_nodes,
    node_summary,
    not_ready,
    plan,
    waiting_for,
)


def argument_spec():
    return docker_common_args(
        nodes=dict(type="list", elements="dict", required=True, options=dict(
            name=dict(type="str", required=True),
            node_id=dict(type="str"),
            role=dict(type="str", choices=["manager", "worker"]),
            labels=dict(type="dict"),
            availability=dict(type="str", choices=["active", "pause", "drain"]),
        )),
        remove_stale=dict(type="bool", default=True),
        wait_ready=dict(type="bool", default=False),
        ready_timeout=dict(type="int", default=120),
    )


def entry_view(entry):
    if entry is None:
        return None
    return dict((key, entry[key]) for key in ("id", "role", "availability", "labels", "state", "addr"))


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    wanted = module.params["nodes"]
    swarm = SwarmNodes(get_docker_client(module))
    try:
        nodes, cluster_id = swarm.read()
        result = plan(wanted, nodes, module.params["remove_stale"])
        if result["refused"]:
            module.fail_json(msg="; ".join(result["refused"]) + " (nothing was changed)", changed=False, actions=[])
        actions = []
        for update in result["updates"]:
            changes = ["%s %s -> %s" % (k, update["before"][k], update["after"][k])
                       for k in ("role", "availability", "labels") if update["before"][k] != update["after"][k]]
            actions.append("%s: %s" % (update["name"], ", ".join(changes)))
        actions += ["remove stale entry %s of %s" % (e["id"], e["hostname"]) for e in result["removals"]]
        changed = bool(actions)
        if changed and not module.check_mode:
            actions = swarm.apply(result, nodes)
            nodes = swarm.read()[0]
        if module.params["wait_ready"] and not module.check_mode and waiting_for(wanted, nodes):
            nodes = swarm.wait_ready(wanted, module.params["ready_timeout"])
            if module.params["remove_stale"]:
                # A rebuilt host's older entry has only now gone Down: it is stale, and goes.
                late = plan(wanted, nodes, True)
                if late["removals"]:
                    actions += swarm.apply(dict(late, updates=[]), nodes)
                    result["removals"] += late["removals"]
                    changed = True
                    nodes = swarm.read()[0]
        after = match_nodes(wanted, [node_summary(n) for n in nodes]) if not module.check_mode else result["nodes"]
    except PlanError as exc:
        module.fail_json(msg=str(exc), changed=False, actions=[])
    except NodesError as exc:
        module.fail_json(msg=exc.msg, changed=bool(exc.actions), actions=exc.actions)
    output = dict(
        changed=changed,
        actions=actions,
        nodes=dict((name, entry_view(entry)) for name, entry in after.items()),
        missing=result["missing"],
        removed=[dict(id=e["id"], hostname=e["hostname"]) for e in result["removals"]],
        all_ready=not not_ready(wanted, nodes),
        cluster_id=cluster_id,
        manager_addrs=manager_addresses(nodes),
    )
    if module._diff:
        output["diff"] = diff_view(result)
    module.exit_json(**output)


if __name__ == "__main__":
    main()

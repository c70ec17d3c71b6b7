#!/usr/bin/python
# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: swarm_join
short_description: Join the node this task runs on to a Docker swarm, or make it leave
description:
  - Joins the node the task runs on to an existing Docker swarm as a worker or a manager, using a join token and
    the addresses of the swarm's managers; with O(state=absent), makes it leave its swarm.
  - Idempotent on the identity of the cluster, not only on "some swarm is active". The node counts as already in
    the requested cluster when the root CA digest carried in O(join_token) equals the digest of the root CA the
    node trusts (read from C(<DockerRootDir>/swarm/certificates/swarm-root-ca.crt), or on a manager from the
    engine). When that CA cannot be read, the node's known managers must overlap with O(remote_addrs) instead.
    On a manager, O(cluster_id) is compared too.
  - A node already in another cluster, in a different role, or stuck in state C(pending), C(locked) or C(error)
    makes the task fail with the reason and the fix, unless O(force_rejoin=true).
  - All input is checked before anything changes. That is the token's format, the interfaces named by O(advertise_addr),
    O(listen_addr) and O(data_path_addr), and a TCP connection to each manager. A join is attempted only when at
    least one manager answers, and only the managers that answered are handed to the engine, because a join towards
    an unreachable manager leaves the node in state C(pending).
    If the engine still fails the join (for example a wrong token) and leaves the node C(pending), the module makes
    it leave again and says so.
  - The join token is never shown, neither in messages nor in returned values; engine error texts are scrubbed.
version_added: 0.1.0
author:
  - swarmnet developers (@swarmnet)
extends_documentation_fragment:
  - swarmnet.overlay.docker
options:
  state:
    description:
      - V(present) makes the node a member of the swarm with O(role); V(absent) makes it leave any swarm.
    type: str
    choices: [present, absent]
    default: present
  role:
    description:
      - The role the node must have in the swarm.
      - The role is decided by the token (worker or manager token); this option says which one is expected, so that
        idempotence and the result check compare against it.
      - A node cannot change its own role. If the node is in the cluster with the other role, the task fails and says
        to promote or demote it from a manager, unless O(force_rejoin=true).
    type: str
    choices: [worker, manager]
    default: worker
  remote_addrs:
    description:
      - Addresses of managers of the swarm to join, as C(host), C(host:port), C(ipv6) or C([ipv6]:port).
        The port defaults to 2377.
      - Required when O(state=present).
    type: list
    elements: str
  join_token:
    description:
      - The swarm join token for O(role), as printed by C(docker swarm join-token -q worker) (or V(manager)) on a
        manager, in the form C(SWMTKN-1-<50 base-36 characters>-<25 base-36 characters>).
      - Required when O(state=present). Never logged nor returned.
    type: str
  advertise_addr:
    description:
      - Address advertised to the other nodes, as an IP address or an interface name of this node, optionally with
        C(:port) (IPv6 with a port as C([addr]:port)). Host names are not accepted (Docker does not accept them).
      - An interface must exist on the node and have at most one IPv4 and at most one IPv6 address (Docker counts
        link-local IPv6 addresses too, and refuses an interface with more); Docker then uses the IPv4 address.
      - When omitted, Docker picks the address itself.
    type: str
  listen_addr:
    description:
      - Address on which the node listens for swarm control traffic, as an IP address or an interface name,
        optionally with C(:port) (default port 2377).
    type: str
    default: 0.0.0.0:2377
  data_path_addr:
    description:
      - Address or interface name used for data traffic (VXLAN overlay networks), without a port.
      - When omitted, Docker uses the advertise address.
    type: str
  force:
    description:
      - With O(state=absent), leave the swarm even when the node is a manager.
      - When other managers exist, the node first demotes itself to worker through its own API and then leaves, so
        that the remaining managers keep their raft quorum. A manager that is the last one, or is locked, leaves by
        force.
    type: bool
    default: false
  force_rejoin:
    description:
      - When the node is in another cluster, in the other role, or in state C(pending), C(locked) or C(error),
        make it leave and join again with O(join_token) and O(role).
      - A manager with fellow managers demotes itself first (see O(force)); otherwise a manager leaves by force.
      - The managers keep the old node entry as C(Down); remove it with C(docker node rm).
    type: bool
    default: false
  cluster_id:
    description:
      - The swarm cluster ID the managers reported (for example from C(docker info) on a manager), used as extra
        evidence and returned.
      - On a manager the node's real cluster ID is compared with it. Docker exposes the cluster ID only on managers,
        so on a worker it cannot be checked; it is returned as RV(cluster_id) when the other evidence says the node is
        in the requested cluster.
    type: str
notes:
  - The module runs on the node it manages; interface names are looked up on that machine.
  - The root CA file is read only when O(docker_host) is a local C(unix://) socket; otherwise only the manager
    overlap (and, on managers, the cluster ID and CA reported by the engine) serve as evidence.
  - When O(role) and the kind of token disagree, the engine joins with the token's role; the module then fails
    (the node has joined) and says how to fix it.
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: All checks run (token format, interfaces, managers reachable over TCP); RV(actions) lists what would be done.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: The diff shows C(state), C(role) and C(cluster_id) before and after.
"""

EXAMPLES = r"""
- name: Join this node as a worker
  swarmnet.overlay.swarm_join:
    role: worker
    remote_addrs: ["{{ hostvars[groups['managers'][0]].swarm_addr }}:2377"]
    join_token: "{{ hostvars[groups['managers'][0]].worker_token }}"
    advertise_addr: eth1
    data_path_addr: eth1

- name: Join as a manager, with the ID the first manager reported as extra evidence
  swarmnet.overlay.swarm_join:
    role: manager
    remote_addrs:
      - 10.0.0.2
      - "[fd00::2]:2377"
    join_token: "{{ manager_token }}"
    cluster_id: "{{ swarm_cluster_id }}"

- name: Move a node that is in another (old) swarm into this one
  swarmnet.overlay.swarm_join:
    remote_addrs: [10.0.0.2]
    join_token: "{{ worker_token }}"
    force_rejoin: true

- name: Leave the swarm (the node is a worker)
  swarmnet.overlay.swarm_join:
    state: absent
"""

RETURN = r"""
node_id:
  description: The swarm node ID of this node after the task (null when it is in no swarm, or would join in check mode).
  returned: always
  type: str
  sample: 2rksud9y3ye1dmv4n6xgyazni
cluster_id:
  description:
    - The swarm cluster ID. On a manager, the real ID from the engine.
    - On a worker, the O(cluster_id) option when it was given and the evidence says the node is in the requested
      cluster; otherwise null, because Docker exposes the cluster ID only on managers.
  returned: always
  type: str
  sample: q6hmfacpm1dp0q2bkncfzm2nj
role:
  description: The node's role after the task (in check mode, the role it would have); null when in no swarm.
  returned: always
  type: str
  sample: worker
actions:
  description: What was done, in order (in check mode, what would be done).
  returned: always
  type: list
  elements: str
  sample: ["demoted itself to worker", "left swarm", "joined as worker"]
reason:
  description: Why these actions (or none) were needed.
  returned: always
  type: str
  sample: already in this cluster as worker (root CA digest matches the join_token)
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.swarmnet.overlay.plugins.module_utils.docker_client import docker_common_args, get_docker_client
from ansible_collections.swarmnet.overlay.plugins.module_utils.swarm_membership import (
    MembershipError,
    SwarmMembership,
    scrub_token,
)


def argument_spec():
    return docker_common_args(
        state=dict(type="str", choices=["present", "absent"], default="present"),
        role=dict(type="str", choices=["worker", "manager"], default="worker"),
        remote_addrs=dict(type="list", elements="str"),
        join_token=dict(type="str", no_log=True),
        advertise_addr=dict(type="str"),
        listen_addr=dict(type="str", default="0.0.0.0:2377"),
        data_path_addr=dict(type="str"),
        force=dict(type="bool", default=False),
        force_rejoin=dict(type="bool", default=False),
        cluster_id=dict(type="str"),
    )


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        required_if=[("state", "present", ("remote_addrs", "join_token"))],
        supports_check_mode=True,
    )
    membership = SwarmMembership(module)
    try:
        # Bad input fails here, before the engine is even contacted.
        membership.check_input()
        membership.client = get_docker_client(module)
        if module.params["state"] == "present":
            result = membership.present()
        else:
            result = membership.absent()
    except MembershipError as exc:
        module.fail_json(msg=scrub_token(exc.msg, module.params.get("join_token")), changed=exc.changed, actions=exc.actions)
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

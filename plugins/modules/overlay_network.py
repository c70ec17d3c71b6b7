#!/usr/bin/python
# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: overlay_network
short_description: Manage a Docker swarm overlay network, idempotently
description:
  - Create, check or remove one swarm-scoped overlay network, run on a swarm manager.
  - Idempotence compares what is declared with what the engine reports, both normalised.
    Options left out are not compared. Options the engine adds on its own (such as
    C(com.docker.network.driver.overlay.vxlanid_list)) are ignored, and every spelling of the
    C(encrypted) driver option counts as encrypted, as it does for the overlay driver.
  - A subnet or IP range written with host bits set, as the tutorial writes it (C(--subnet 172.19.0.1/24)),
    is understood as its network (C(172.19.0.0/24)) with a warning, because Docker Engine 25.0 and later reject the first spelling.
  - Docker has no API to change a network. When the network differs from the declaration the differences are
    reported (in RV(differences) and in the diff) and, unless O(recreate) allows it, the task fails naming each
    differing field and everything that uses the network, and changes nothing.
  - Before touching anything the module checks the options (CIDRs, gateways, ranges and auxiliary addresses inside
    their subnet), that the name is not taken by another kind of network, and that no subnet overlaps a network
    the manager sees (the swarm's overlay networks and the manager's local networks such as C(docker_gwbridge) and C(bridge)).
version_added: 0.1.0
author:
  - swarmnet developers (@swarmnet)
extends_documentation_fragment:
  - swarmnet.overlay.docker
attributes:
  check_mode:
    description: Everything is checked and the planned actions are returned; nothing is changed.
    support: full
  diff_mode:
    description: Returns the network before and after, normalised, with the same fields as the options.
    support: full
options:
  name:
    description:
      - Name of the overlay network.
    type: str
    required: true
  state:
    description:
      - V(present) makes sure the network exists as declared; V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  ipam_config:
    description:
      - Address pools of the network, IPv4 and/or IPv6 (C(docker network create --subnet --gateway --ip-range --aux-address)).
      - When left out (or empty) the engine picks a subnet and it is not compared.
      - When given, the list is the complete set of pools; pools the network has beyond these count as a difference.
    type: list
    elements: dict
    suboptions:
      subnet:
        description:
          - Subnet in CIDR notation, for example V(172.19.0.0/24) or V(fd00:19::/64).
          - Host bits set (V(172.19.0.1/24)) are cleared, with a warning.
        type: str
        required: true
      gateway:
        description:
          - Gateway address inside O(ipam_config[].subnet). When left out the engine picks one and it is not compared.
        type: str
      ip_range:
        description:
          - Range inside O(ipam_config[].subnet), in CIDR notation, from which container addresses are allocated.
        type: str
      aux_addresses:
        description:
          - Addresses inside O(ipam_config[].subnet) the engine must not hand out, by name (C(--aux-address name=IP)).
          - An empty mapping means none.
        type: dict
  enable_ipv6:
    description:
      - Enable IPv6 on the network. Implied (V(true)) when O(ipam_config) holds an IPv6 subnet.
      - Not compared when left out.
    type: bool
  attachable:
    description:
      - Let standalone containers (C(docker run --network)) join the network (C(--attachable)).
      - Not compared when left out; a new network is not attachable unless this is V(true).
      - Cannot be V(true) together with O(ingress=true).
    type: bool
  internal:
    description:
      - Restrict external access from the network (C(--internal)). Not compared when left out.
    type: bool
  encrypted:
    description:
      - Encrypt VXLAN traffic between nodes with IPsec (C(--opt encrypted)). Needs IP protocol 50 (ESP) between the nodes.
      - Not compared when left out.
    type: bool
  mtu:
    description:
      - MTU of the network, set as the driver option C(com.docker.network.driver.mtu). Not compared when left out.
    type: int
  labels:
    description:
      - Labels of the network. Not compared when left out; an empty mapping means no labels.
    type: dict
  driver_options:
    description:
      - Further overlay driver options (C(--opt key=value)). Only the keys given are compared.
      - C(encrypted) and C(com.docker.network.driver.mtu) given here are read as O(encrypted) and O(mtu).
    type: dict
  ingress:
    description:
      - Make this network the swarm's ingress network (routing mesh for published ports), replacing the current
        one (C(docker network rm ingress) then C(docker network create --ingress)).
      - Docker refuses to remove the current ingress network while services publish ports in ingress mode; the
        task then fails naming them.
      - Not compared when left out.
    type: bool
  recreate:
    description:
      - What to do when the network exists but differs from the declaration, since the only way to change it
        is to remove it and create it again.
      - V(never) fails, naming each differing field (before -> after) and every service and container using the network.
      - V(when_unused) recreates it when nothing uses it, else fails like V(never).
      - V(always_detach) recreates it even when in use - it takes the services off the network (service update keeping
        the rest of their spec), disconnects standalone containers on this manager, recreates the network, and puts
        them all back. Services restart their tasks twice. Fails if standalone containers on other nodes use the
        network, or if it is the ingress network and services publish ports through it.
      - If putting a service back fails, the task fails with RV(services_detached) naming each service left off, and the
        new network carries the label C(swarmnet.overlay.pending-reattach) listing them; the next run puts them back
        (a service changed by someone else in between is left as it is). The label is bookkeeping; it is never compared
        with O(labels) and not shown in the diff.
      - Options left out keep the network's current values when it is recreated.
    type: str
    choices: [never, when_unused, always_detach]
    default: never
  detach_services:
    description:
      - With O(state=absent), take services (and standalone containers on this manager) off the network before
        removing it. Without it, removing a network in use fails naming them.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait for tasks to leave a network being removed, and for a removed network to disappear from the manager.
    type: int
    default: 60
  allow_underlay_overlap:
    description:
      - By default a new subnet (on create or recreate) is refused when it contains the address of a node of the swarm
        (each node's C(Status.Addr), as the managers know it) or overlaps a route of the manager the task runs on
        (C(/proc/net/route), Docker's own bridges left out), because containers on such a network could not reach those hosts.
        The failure names each overlap.
      - Set V(true) to create such a network anyway.
    type: bool
    default: false
notes:
  - Run it on a swarm manager, once per swarm (for example with C(run_once) on the managers group).
  - Overlap checks see the manager's own local networks only; other nodes' C(docker_gwbridge) subnets are not visible from it.
seealso:
  - name: docker network create
    description: The command this module stands in for.
    link: https://docs.docker.com/reference/cli/docker/network/create/
"""

EXAMPLES = r"""
# docker network create -d overlay helloNet
- name: An overlay network with a subnet chosen by the engine
  swarmnet.overlay.overlay_network:
    name: helloNet

# docker network create -d overlay --subnet 172.19.0.1/24 --gateway 172.19.0.1 helloTest
# (172.19.0.1/24 works too, with a warning: it means 172.19.0.0/24)
- name: The tutorial's network with a fixed subnet
  swarmnet.overlay.overlay_network:
    name: helloTest
    ipam_config:
      - subnet: 172.19.0.0/24
        gateway: 172.19.0.1

# docker network create -d overlay --subnet 172.19.1.1/24 --gateway 172.19.1.1 --attachable helloTest2
- name: An attachable network, so that `docker run --network helloTest2` may join it
  swarmnet.overlay.overlay_network:
    name: helloTest2
    attachable: true
    ipam_config:
      - subnet: 172.19.1.0/24
        gateway: 172.19.1.1

- name: Dual stack, MTU and labels; change the subnet even while services use it
  swarmnet.overlay.overlay_network:
    name: backend
    mtu: 1400
    labels:
      team: web
    ipam_config:
      - subnet: 10.20.0.0/24
        gateway: 10.20.0.1
        ip_range: 10.20.0.128/25
        aux_addresses:
          reserved: 10.20.0.5
      - subnet: fd00:20::/64
    recreate: always_detach
  register: backend

- name: Say which services were detached and reattached
  ansible.builtin.debug:
    msg: "{{ backend.services_touched }}"

# docker network rm ingress
# docker network create --driver overlay --ingress --subnet 10.11.0.0/16 --gateway 10.11.0.2 --opt com.docker.network.driver.mtu=1200 my-ingress
- name: Replace the swarm's ingress network
  swarmnet.overlay.overlay_network:
    name: my-ingress
    ingress: true
    mtu: 1200
    ipam_config:
      - subnet: 10.11.0.0/16
        gateway: 10.11.0.2

# docker service update --network-rm helloTest helloworld; docker network rm helloTest
- name: Remove a network, taking services off it first
  swarmnet.overlay.overlay_network:
    name: helloTest
    state: absent
    detach_services: true
"""

RETURN = r"""
network:
  description:
    - The network as the engine reports it afterwards (C(docker network inspect)).
    - In check mode, the network as it is now. V(null) when there is none.
  returned: always
  type: dict
  sample: {"Name": "helloTest", "Id": "k3x...", "Driver": "overlay", "Scope": "swarm", "Attachable": false,
           "IPAM": {"Driver": "default", "Config": [{"Subnet": "172.19.0.0/24", "Gateway": "172.19.0.1"}]}}
actions:
  description: What was done (or, in check mode, would be done), in order.
  returned: always
  type: list
  elements: str
  sample: ["detach service web from backend", "remove network backend (3f1c0a7e5b2d)", "create network backend",
           "reattach service web to backend"]
services_touched:
  description: Names of the services taken off the network (and, when it was recreated, put back on it).
  returned: always
  type: list
  elements: str
  sample: ["web"]
services_detached:
  description:
    - Names of the services that were taken off the network and could not be put back (the task then fails).
      Rerunning the task puts them back.
  returned: always
  type: list
  elements: str
  sample: []
containers_touched:
  description: Names of the standalone containers on this manager disconnected from the network (and reconnected).
  returned: always
  type: list
  elements: str
  sample: []
differences:
  description: The declared fields the network does not match, normalised. Also returned when the task fails because of them.
  returned: always
  type: list
  elements: dict
  contains:
    field:
      description: The field, for example C(ipam_config[0].subnet), C(attachable), C(labels) or C(driver_options.KEY).
      type: str
    before:
      description: What the engine reports (V(null) when not set).
      type: raw
    after:
      description: What is declared.
      type: raw
  sample: [{"field": "ipam_config[0].subnet", "before": "172.19.0.0/24", "after": "172.20.0.0/24"}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.swarmnet.overlay.plugins.module_utils.docker_client import (
    docker_common_args,
    get_docker_client,
)
from ansible_collections.swarmnet.overlay.plugins.module_utils.overlay_networks import (
    OverlayNetworkFailure,
    OverlayNetworkReconciler,
)


def argument_spec():
    return docker_common_args(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        ipam_config=dict(
            type="list",
            elements="dict",
            options=dict(
                subnet=dict(type="str", required=True),
                gateway=dict(type="str"),
                ip_range=dict(type="str"),
                aux_addresses=dict(type="dict"),
            ),
        ),
        enable_ipv6=dict(type="bool"),
        attachable=dict(type="bool"),
        internal=dict(type="bool"),
        encrypted=dict(type="bool"),
        mtu=dict(type="int"),
        labels=dict(type="dict"),
        driver_options=dict(type="dict"),
        ingress=dict(type="bool"),
        recreate=dict(type="str", default="never", choices=["never", "when_unused", "always_detach"]),
        detach_services=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=60),
        allow_underlay_overlap=dict(type="bool", default=False),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    reconciler = OverlayNetworkReconciler(
        lambda: get_docker_client(module),
        module.params,
        check_mode=module.check_mode,
        warn=module.warn,
    )
    try:
        result = reconciler.run()
    except OverlayNetworkFailure as exc:
        module.fail_json(msg=exc.msg, **exc.result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: node_facts
short_description: Read, in one go, what the roles must know about a swarm node
description:
  - Reads the node the task runs on and returns, under RV(node), whether its Docker engine answers, whether the Docker
    SDK for Python imports, the node's swarm state, its cluster addresses, the TCP ports sshd listens on and the
    firewall in charge (with the state the firewall role compares against).
  - One remote execution per node and read-only, so that roles can decide what to do before they change anything.
  - The cluster addresses are resolved as Docker resolves them. O(advertise_addr) and O(data_path_addr) take an IP
    address or an interface name, exactly as in M(swarmnet.overlay.swarm_join) and C(docker swarm init).
    Without O(advertise_addr), the address is the one the node already advertises in its swarm, else the address
    of the default-route interface, the one Docker picks.
  - An interface that does not exist on the node, or that Docker could not use, fails the task for this host, naming
    the option and listing the node's interfaces. An engine that does not answer is reported, not a failure.
version_added: 0.1.0
author:
  - swarmnet developers (@swarmnet)
extends_documentation_fragment:
  - swarmnet.overlay.docker
options:
  advertise_addr:
    description:
      - The node's swarm advertise address, as an IP address or an interface name, optionally with C(:port).
    type: str
  data_path_addr:
    description:
      - The node's data path address (VXLAN), as an IP address or an interface name, without a port.
    type: str
  iptables_chain:
    description:
      - The iptables chain whose rules are returned in C(firewall.iptables.chain_rules) of RV(node).
    type: str
    default: SWARMNET-INPUT
  iptables_published_chain:
    description:
      - The iptables chain, reached from C(DOCKER-USER), whose rules are returned in
        C(firewall.iptables.published_chain_rules) of RV(node).
    type: str
    default: SWARMNET-PUBLISHED
  firewalld_zone:
    description:
      - The firewalld zone to read. When omitted, the zone of the interface holding the advertise address, else the
        default zone.
    type: str
notes:
  - The sshd ports are read from C(/proc) (listening sockets held by C(sshd) processes), so an sshd started by socket
    activation, whose socket belongs to systemd, is not seen.
  - The ufw and firewalld readings need root (as the firewall role does).
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: The module only reads; it behaves the same in check mode.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
"""

EXAMPLES = r"""
- name: Read the node
  swarmnet.overlay.node_facts:
    advertise_addr: "{{ swarm_advertise_addr | default(omit) }}"
    data_path_addr: "{{ swarm_data_path_addr | default(omit, true) }}"
  register: node_read

- name: Install an engine only where none answers
  ansible.builtin.debug:
    msg: "{{ inventory_hostname }} needs an engine"
  when: not node_read.node.engine.answers

- name: The addresses the other nodes see this one from
  ansible.builtin.debug:
    var: node_read.node.addresses.cluster
"""

RETURN = r"""
node:
  description: What was read on the node.
  returned: always
  type: dict
  contains:
    engine:
      description: Whether the Docker engine answers on O(docker_host) (C(answers)), its C(version) and C(api_version), or the C(error).
      type: dict
      returned: always
      sample: {answers: true, version: 20.10.24+dfsg1, api_version: "1.41", error: null}
    sdk:
      description: Whether the Docker SDK for Python imports (C(imports)), its C(version), or the import C(error).
      type: dict
      returned: always
      sample: {imports: true, version: 5.0.3, error: null}
    swarm:
      description:
        - The node's swarm state from C(docker info). C(local_node_state) (inactive, pending, active, error, locked),
          C(node_id), C(node_addr), C(control_available) (a manager), C(locked), C(cluster_id) (managers only) and
          C(remote_managers).
        - On a member (C(active)), C(managers_answering) lists the other managers (C(host:port)) that accept a TCP
          connection from this node within 2 seconds, and C(managers_silent) the others, each with its C(error);
          C(cut_off) is true when it reaches none of them.
        - On a manager, C(nodes) is the swarm's node list (C(id), C(hostname), C(role), C(availability), C(state),
          C(addr) = C(Status.Addr), C(manager_addr)); null elsewhere.
      type: dict
      returned: always
      sample:
        local_node_state: active
        node_id: 2rksud9y3ye1dmv4n6xgyazni
        node_addr: 192.168.240.11
        control_available: true
        locked: false
        cluster_id: q6hmfacpm1dp0q2bkncfzm2nj
        remote_managers: [192.168.240.11:2377]
        managers_answering: []
        managers_silent: []
        cut_off: false
        nodes: [{id: 2rksud9y3ye1dmv4n6xgyazni, hostname: manager1, role: manager, availability: active,
                 state: ready, addr: 192.168.240.11, manager_addr: 192.168.240.11}]
    addresses:
      description:
        - C(advertise) and C(data_path) (null when not set) resolved to IP addresses, with where each came from
          (C(advertise_source), C(data_path_source)); C(cluster) the unique list of both, the addresses the other
          nodes see this one from; C(ip_versions) of those; C(interface) holding the advertise address;
          C(interfaces) the node's interface names; C(default_route_interface).
      type: dict
      returned: always
      sample:
        advertise: 192.168.240.11
        advertise_source: advertise_addr (interface)
        data_path: null
        data_path_source: null
        cluster: [192.168.240.11]
        ip_versions: [4]
        interface: eth1
        interfaces: [docker0, eth0, eth1, lo]
        default_route_interface: eth0
    ssh:
      description: C(listen_ports), the TCP ports sshd processes listen on (empty when no sshd runs).
      type: dict
      returned: always
      sample: {listen_ports: [22]}
    firewall:
      description:
        - C(backend) is the firewall in charge, V(ufw) when ufw is active, else V(firewalld) when it runs, else
          V(iptables).
        - C(ufw) has C(installed), C(active), C(default_incoming) and C(rules), the rules whose comment starts with
          C(swarmnet) (C(rule), C(spec), C(comment), C(from), C(app), C(port)). Where ufw is installed,
          C(ufw.applications) is the firewall role's application profiles file C(/etc/ufw/applications.d/swarmnet)
          (C(content), C(mode), C(owner), C(group)), null when missing.
        - C(firewalld) has C(installed), C(running) and, when it runs, C(default_zone), C(zone) (the zone of the
          advertise interface, else the default zone), and C(runtime)/C(permanent) settings of that zone (C(target),
          C(interfaces), C(sources), C(ports), C(services), C(rich_rules)).
        - C(ufw.default_deny_record) and C(firewalld.default_deny_record) are what the firewall role recorded when it
          turned on default deny (C(/etc/ufw/swarmnet-default-deny.json) with the prior C(incoming) policy,
          C(/etc/firewalld/swarmnet-default-deny.json) with the C(zone) and its prior C(target)), null without a record.
        - C(iptables) has C(installed), C(chain), C(chain_rules) (O(iptables_chain) as C(iptables -S) prints it,
          read with one C(iptables-save -t filter); null when it does not exist), C(input_policy) and
          C(input_jumps_first), C(input_jump_at) (where the role's jump belongs, below the engine's drops of
          plaintext VXLAN for encrypted overlays), C(published_chain_rules) (of O(iptables_published_chain)) and C(docker_user_jumps_first).
        - C(boot) is what the firewall role keeps for the next boot, since iptables rules vanish with a reboot.
          C(rules) is the content of C(/etc/swarmnet/firewall-boot.rules) and C(unit) the content of
          C(/etc/systemd/system/swarmnet-firewall.service) (each null when missing), C(enabled) whether systemd starts
          that unit at boot, and C(systemd) whether systemd runs the node.
      type: dict
      returned: always
read_with:
  description: The module's arguments that shape the reading (C(advertise_addr), C(data_path_addr), C(iptables_chain),
    C(iptables_published_chain), C(firewalld_zone)); a role may reuse a reading made with the arguments it would pass.
  type: dict
  returned: always
  sample: {advertise_addr: eth1, data_path_addr: null, iptables_chain: SWARMNET-INPUT,
           iptables_published_chain: SWARMNET-PUBLISHED, firewalld_zone: null}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.swarmnet.overlay.plugins.module_utils import node_facts_plan as plan
from ansible_collections.swarmnet.overlay.plugins.module_utils import node_facts_probe as probe
from ansible_collections.swarmnet.overlay.plugins.module_utils.docker_client import docker_common_args
from ansible_collections.swarmnet.overlay.plugins.module_utils.node_addresses import AddressError


READ_WITH = ("advertise_addr", "data_path_addr", "iptables_chain", "iptables_published_chain", "firewalld_zone")


def main():
    module = AnsibleModule(
        argument_spec=docker_common_args(
            advertise_addr=dict(type="str"),
            data_path_addr=dict(type="str"),
            iptables_chain=dict(type="str", default="SWARMNET-INPUT"),
            iptables_published_chain=dict(type="str", default="SWARMNET-PUBLISHED"),
            firewalld_zone=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    engine, sdk, swarm, nodes = probe.engine_facts(module)
    swarm["nodes"] = nodes
    interfaces, default_interface = probe.interfaces_and_default(module)
    try:
        addresses = plan.resolve_addresses(
            module.params["advertise_addr"], module.params["data_path_addr"], interfaces, default_interface, swarm["node_addr"]
        )
    except AddressError as exc:
        module.fail_json(msg=str(exc), interfaces=sorted(interfaces))
    addresses["default_route_interface"] = default_interface
    node = dict(
        engine=engine,
        sdk=sdk,
        swarm=swarm,
        addresses=addresses,
        ssh=dict(listen_ports=probe.sshd_ports()),
        firewall=probe.firewall_facts(module, addresses["interface"]),
    )
    # What this reading was made with, so that a later role can tell whether it may reuse it.
    read_with = dict((key, module.params[key]) for key in READ_WITH)
    module.exit_json(changed=False, node=node, read_with=read_with)


if __name__ == "__main__":
    main()

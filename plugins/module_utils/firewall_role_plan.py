# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the firewall role wants on each node (pure: no I/O, unit-tested without a host).

Two steps of the role, each one filter call (plugins/filter/firewall_rules.py):
- cluster_addresses: once per play, every cluster node's addresses from the nodes' readings (node_facts), the
  inventory's overrides and, for nodes outside the run, the managers' node list;
- node_plan: per host, the role's bad input, the sources, and the iptables lines and boot file that differ
  from the node's reading.
(In Python, not in templates and role variables: a converged rerun works this out for every host, and the
role variables it replaces cost the controller about a second per step at 24 nodes.)
"""

import json
import re

from ansible_collections.swarmnet.overlay.plugins.module_utils.firewall_chains_plan import (
    boot_rules_file, published_chain_rules, swarm_chain_rules)

IPV4_SOURCE_RE = re.compile(r"^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}"
                            r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(/(3[0-2]|[12]?[0-9]))?$")
PORT_RE = re.compile(r"^[0-9]+$")


def is_ipv4_source(value):
    """An IPv4 address or CIDR, as the role accepts sources."""
    return isinstance(value, str) and IPV4_SOURCE_RE.match(value) is not None


def is_ipv4_address(value):
    """An IPv4 address without a prefix length (swarmnet_node_address)."""
    return is_ipv4_source(value) and "/" not in value


def _is_port(value):
    return PORT_RE.match(str(value)) is not None and 0 < int(str(value)) < 65536


def input_errors(settings):
    """The role's bad input: a list of messages, each naming the variable and the fix ([] when all is well)."""
    errors = []
    for name in ("extra_sources", "published_sources"):
        for value in settings.get(name) or []:
            if is_ipv4_source(value):
                continue
            if isinstance(value, str) and ":" in value:
                fix = ("IPv6 sources are not supported by this role (it writes IPv4 rules only): open IPv6 yourself "
                       "or leave the address out.")
            else:
                fix = "Fix or remove it."
            errors.append("firewall_%s: %s is not an IPv4 address or CIDR (e.g. 192.0.2.10 or 192.0.2.0/24). %s"
                          % (name, json.dumps(value), fix))
    ports = [("firewall_ssh_ports", port) for port in settings.get("ssh_ports") or []]
    ports.append(("firewall_ssh_port (default: ansible_port)", settings.get("ssh_port", 22)))
    for name, port in ports:
        if not _is_port(port):
            errors.append("%s: %s is not a TCP port (1-65535)." % (name, json.dumps(port)))
    if not _is_port(settings.get("data_path_port", 4789)):
        errors.append("firewall_data_path_port (default: swarm_data_path_port, else 4789): %s is not a UDP port (1-65535)."
                      % json.dumps(settings.get("data_path_port")))
    override = settings.get("node_address") or ""
    if override and not is_ipv4_address(override):
        if ":" in str(override):
            fix = ("IPv6 node addresses are not supported by the firewall role (IPv4 rules only): advertise an IPv4 "
                   "address, or leave this host out of the role and open its ports yourself.")
        else:
            fix = ("Give the IPv4 address the other nodes see this node from, or remove it to let the role resolve "
                   "swarm_advertise_addr.")
        errors.append("swarmnet_node_address: %s is not an IPv4 address. %s" % (json.dumps(override), fix))
    return errors


def resolved_settings(settings, cluster):
    """The settings with the values their default (None) stands for, worked out in Python rather than as role
    defaults that are templates (each such default costs the controller a template per host at every step that
    names it, the argument check included): allow_esp (whether a network in `networks`, the swarm role's
    swarm_networks, is encrypted), is_manager (whether `host` is in the cluster's managers), ssh_port (22; the role
    passes ansible_port where set), data_path_port (4789; the role passes swarm_data_path_port where set)."""
    resolved = dict(settings)
    if resolved.get("allow_esp") is None:
        resolved["allow_esp"] = any(isinstance(net, dict) and bool(net.get("encrypted")) for net in settings.get("networks") or [])
    if resolved.get("is_manager") is None:
        resolved["is_manager"] = settings.get("host") in (cluster.get("managers") or [])
    for name, default in (("ssh_port", 22), ("data_path_port", 4789)):
        if resolved.get(name) is None:
            resolved[name] = default
    return resolved


def _unique(values):
    seen = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def cluster_addresses(nodes, managers, play_hosts, hosts):
    """Every cluster node's addresses.

    nodes: the cluster's inventory hosts (managers and workers); managers: the managers' group; play_hosts:
    the hosts of this run still in play; hosts: per host name, dict(override=swarmnet_node_address or '',
    reading=its node_facts reading's `node` or None, hostname=ansible_hostname or None).
    A node's addresses: its override, else what this run resolved on it, else (a node not in this run) the
    managers' node list (Status.Addr, by host name). An override that is not an IPv4 address is no source
    (the host fails its own input check): that node counts as unknown, so nothing is pruned.
    Returns dict(nodes={host: dict(addresses, from)}, unknown=[hosts], ipv6=['host address'], sources=[...],
    managers=[the managers' host names]).
    """
    listed = []
    for manager in managers:
        reading = (hosts.get(manager) or {}).get("reading")
        if reading:
            listed.extend((reading.get("swarm") or {}).get("nodes") or [])
    sources = []
    # Managers every node in this run knows (docker info RemoteManagers) are cluster addresses too.
    for host in play_hosts:
        reading = (hosts.get(host) or {}).get("reading")
        if reading:
            sources.extend(re.sub(r":[0-9]+$", "", addr) for addr in (reading.get("swarm") or {}).get("remote_managers") or [])
    result = dict(nodes={}, unknown=[], ipv6=[], sources=[], managers=_unique(managers))
    for host in _unique(nodes):
        facts = hosts.get(host) or {}
        override = facts.get("override") or ""
        reading = facts.get("reading")
        if override:
            entry = dict(addresses=[override] if is_ipv4_address(override) else [],
                         **{"from": "inventory (swarmnet_node_address)"})
        elif reading:
            entry = dict(addresses=list((reading.get("addresses") or {}).get("cluster") or []),
                         **{"from": "resolved on the node in this run"})
        else:
            names = [host, host.split(".")[0], facts.get("hostname") or host]
            found = [node for node in listed if node.get("hostname") in names][:1]
            addrs = [node.get("addr") for node in found] + [node.get("manager_addr") for node in found]
            addrs = _unique(addr for addr in addrs if addr and addr not in ("0.0.0.0", "::"))
            entry = dict(addresses=addrs, **{"from": "the managers' node list (Status.Addr)"})
        if entry["addresses"]:
            result["nodes"][host] = entry
            sources.extend(entry["addresses"])
            result["ipv6"].extend("%s %s" % (host, addr) for addr in entry["addresses"] if ":" in addr)
        else:
            result["unknown"].append(host)
    result["sources"] = _unique(sources)
    return result


def _sources_now(backend, firewall):
    """The sources this host's firewall allows now for the swarm (kept while a node's address is unknown)."""
    if backend == "iptables":
        rules = (firewall.get("iptables") or {}).get("chain_rules") or []
        return [re.sub(r"^.* -s ([^ ]+?)(/32)? .*$", r"\1", rule) for rule in rules if " -s " in rule]
    if backend == "ufw":
        return [rule.get("from") for rule in (firewall.get("ufw") or {}).get("rules") or [] if rule.get("from")]
    rich = (((firewall.get("firewalld") or {}).get("permanent") or {}).get("rich_rules")) or []
    return [re.sub(r'^.*source address="([^"]+)".*$', r"\1", rule) for rule in rich if "source address=" in rule]


def swarm_ports(is_manager, data_path_port):
    """What a swarm needs between its nodes."""
    ports = [dict(proto="tcp", port=2377, why="swarm-management")] if is_manager else []
    return ports + [dict(proto="tcp", port=7946, why="swarm-gossip"), dict(proto="udp", port=7946, why="swarm-gossip"),
                    dict(proto="udp", port=int(data_path_port), why="overlay-vxlan")]


def _iptables_lines(settings, iptables, swarm_rules):
    """INPUT's policy, the swarm chain as a whole and its jump: only what differs ([] when nothing does)."""
    chain = settings["iptables_chain"]
    default_deny = bool(settings.get("default_deny"))
    now = iptables.get("chain_rules") or []
    differs = now != ["-N " + chain] + swarm_rules
    jump_missing = not iptables.get("input_jumps_first")
    to_drop = default_deny and iptables.get("input_policy") != "DROP"
    to_accept = not default_deny and ("-A %s -i lo -j ACCEPT" % chain) in now
    lines = [":INPUT DROP [0:0]"] if to_drop else [":INPUT ACCEPT [0:0]"] if to_accept else []
    if differs:
        lines += [":%s - [0:0]" % chain] + swarm_rules
    if jump_missing:
        # Below Docker's drops of plaintext VXLAN for encrypted overlays, which must stay above it.
        lines.append("-I INPUT %s -m comment --comment swarmnet -j %s" % (iptables.get("input_jump_at") or 1, chain))
    return lines if (differs or jump_missing or to_drop or to_accept) else []


def _published_lines(settings, iptables, published_rules, firewalld_reloaded):
    """The published-ports chain and its jump at the top of DOCKER-USER: only what differs."""
    chain = settings["published_chain"]
    # A firewalld reload flushed the chain: what node_facts read of it is stale.
    now = [] if firewalld_reloaded else iptables.get("published_chain_rules") or []
    differs = bool(now or published_rules) and now != ["-N " + chain] + published_rules
    jump_missing = bool(published_rules) and (firewalld_reloaded or not iptables.get("docker_user_jumps_first"))
    lines = [":%s - [0:0]" % chain] + published_rules if differs else []
    if jump_missing:
        lines.append("-I DOCKER-USER 1 -m comment --comment swarmnet -j %s" % chain)
    return lines


def node_plan(node, cluster, settings, firewalld_reloaded=False):
    """What the role wants on one node, and what differs from its reading.

    node: the node's node_facts reading (`node`); cluster: cluster_addresses' result; settings: the role's
    inputs (backend, iptables_chain, published_chain, default_deny, allow_esp, networks, ssh_port, ssh_ports,
    extra_sources, published_sources, data_path_port, is_manager, node_address, boot_unit, host; see
    resolved_settings for the ones that may be None).
    Returns dict(errors, backend, sources, ssh_open_ports, swarm_ports, allow_esp, data_path_port, is_manager,
    restore, boot_rules, boot_work, work, done). With errors, only errors and backend are worked out: the role fails
    the host before anything else.
    """
    settings = resolved_settings(settings, cluster)
    host = settings.get("host", "this node")
    firewall = node.get("firewall") or {}
    backend = firewall.get("backend") if settings.get("backend", "auto") == "auto" else settings["backend"]
    errors = input_errors(settings)
    addresses = [settings["node_address"]] if settings.get("node_address") else (node.get("addresses") or {}).get("cluster") or []
    if not errors and not addresses:
        errors.append("%s: no cluster address could be found (swarm_advertise_addr is not set, the node is in no swarm "
                      "and has no default route). Set swarm_advertise_addr (an interface name or an address of this "
                      "node) or swarmnet_node_address." % host)
    elif not errors and cluster.get("ipv6"):
        errors.append("%s: IPv6 cluster addresses are not supported by the firewall role (it writes IPv4 rules only, so "
                      "the swarm ports would stay closed or open to the wrong sources). Way out: advertise an IPv4 "
                      "address (swarm_advertise_addr / swarm_data_path_addr: an IPv4 address or an interface with one, or "
                      "swarmnet_node_address), or leave these hosts out of the firewall role and open the swarm ports for "
                      "IPv6 yourself." % "; ".join(cluster["ipv6"]))
    if errors:
        return dict(errors=errors, backend=backend, work=False, done=False)
    default_deny = bool(settings.get("default_deny"))
    sources = list(cluster.get("sources") or []) + list(settings.get("extra_sources") or [])
    if cluster.get("unknown"):
        # Nothing is pruned while a node's address is unknown: a partial run never cuts a node off.
        sources += _sources_now(backend, firewall)
    sources = sorted(set(sources))
    ssh_open_ports = sorted(set([int(settings.get("ssh_port", 22))] + [int(port) for port in (node.get("ssh") or {}).get("listen_ports") or []]
                                + [int(port) for port in settings.get("ssh_ports") or []]))
    ports = swarm_ports(settings.get("is_manager"), settings.get("data_path_port", 4789))
    iptables = firewall.get("iptables") or {}
    chain = settings["iptables_chain"]
    swarm_rules = (swarm_chain_rules(chain, sources, ports, ssh_open_ports if default_deny else [], default_deny,
                                     bool(settings.get("allow_esp")))
                   if backend == "iptables" else [])
    published_sources = settings.get("published_sources") or []
    published_rules = published_chain_rules(settings["published_chain"], published_sources) if published_sources else []
    iptables_lines = _iptables_lines(settings, iptables, swarm_rules) if backend == "iptables" else []
    published_lines = _published_lines(settings, iptables, published_rules, firewalld_reloaded)
    # One atomic iptables-restore --noflush: it declares (and so flushes) only the role's own chains.
    restore = ["*filter"] + iptables_lines + published_lines + ["COMMIT"] if iptables_lines or published_lines else []
    boot_rules = boot_rules_file(swarm_rules, chain if backend == "iptables" else None, published_rules,
                                 settings["published_chain"], default_deny)
    boot = firewall.get("boot") or {}
    boot_work = (boot.get("rules") != boot_rules
                 or bool(boot.get("systemd") and (boot.get("unit") != settings.get("boot_unit") or not boot.get("enabled"))))
    work = bool(restore) or boot_work
    return dict(errors=[], backend=backend, sources=sources, ssh_open_ports=ssh_open_ports, swarm_ports=ports,
                allow_esp=bool(settings["allow_esp"]), data_path_port=int(str(settings["data_path_port"])),
                is_manager=bool(settings["is_manager"]), restore=restore, boot_rules=boot_rules, boot_work=boot_work, work=work,
                done=backend == "iptables" and not work)

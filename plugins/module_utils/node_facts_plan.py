# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What node_facts reports about a node, worked out from raw readings (pure).

Every function here takes text or dicts that node_facts_probe.py read on the
node (``/proc/net/tcp``, ``ufw status verbose``, ``firewall-cmd --info-zone``,
``docker info``...) and turns them into the facts the roles decide on. Nothing
here touches the network, files or the engine, so unit tests cover it all.
"""


import binascii
import json
import re

from ansible_collections.swarmnet.overlay.plugins.module_utils.node_addresses import (
    AddressError,
    classify_node_address,
    interface_ip,
    ip_version,
    resolve_node_address,
)

# /proc/net/tcp state code of a listening socket.
_TCP_LISTEN = "0A"


def parse_proc_net_tcp(text):
    """Listening sockets in ``/proc/net/tcp`` or ``/proc/net/tcp6`` text: [(port, inode), ...] (pure)."""
    result = []
    for line in (text or "").splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10 or fields[3] != _TCP_LISTEN:
            continue
        try:
            port = int(fields[1].rsplit(":", 1)[1], 16)
            inode = int(fields[9])
        except (IndexError, ValueError):
            continue
        result.append((port, inode))
    return result


def ports_of_sockets(listening, socket_inodes):
    """The sorted, unique ports of the listening sockets whose inode is in ``socket_inodes`` (pure)."""
    wanted = set(socket_inodes)
    return sorted(set(port for port, inode in listening if inode in wanted))


def parse_default_route_interface(text):
    """The interface of the IPv4 default route in ``/proc/net/route`` text, or None (pure)."""
    for line in (text or "").splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 8 and fields[1] == "00000000" and fields[7] == "00000000":
            return fields[0]
    return None


def interface_of_address(address, interfaces):
    """The name of the interface that holds ``address``, or None (pure)."""
    for name in sorted(interfaces):
        entry = interfaces[name]
        if address in entry.get("ipv4", []) or address in [a for a, _s in entry.get("ipv6", [])]:
            return name
    return None


def resolve_addresses(advertise_addr, data_path_addr, interfaces, default_interface, swarm_node_addr):
    """The node's cluster addresses, as the engine uses them (pure).

    ``advertise_addr`` and ``data_path_addr`` have swarm_join's and
    ``docker swarm init``'s meaning: an IP address or an interface name (the
    advertise address may carry a port). Without ``advertise_addr`` the
    address is the one the node already advertises in its swarm
    (``swarm_node_addr``), else the address of the default-route interface,
    which is what Docker picks. Raises AddressError naming the option.
    """
    interfaces = interfaces or {}
    result = dict(advertise=None, advertise_source=None, data_path=None, data_path_source=None)
    if advertise_addr:
        parsed = classify_node_address("advertise_addr", advertise_addr, allow_port=True)
        result["advertise"] = resolve_node_address("advertise_addr", parsed, interfaces)
        result["advertise_source"] = "advertise_addr (%s)" % parsed["kind"]
    elif swarm_node_addr:
        result["advertise"] = swarm_node_addr
        result["advertise_source"] = "swarm (NodeAddr)"
    elif default_interface and default_interface in interfaces:
        try:
            result["advertise"] = interface_ip(default_interface, interfaces[default_interface])
        except AddressError as exc:
            raise AddressError("advertise_addr is not set and Docker could not pick an address: %s" % exc)
        result["advertise_source"] = "default route (%s)" % default_interface
    if data_path_addr:
        parsed = classify_node_address("data_path_addr", data_path_addr, allow_port=False)
        result["data_path"] = resolve_node_address("data_path_addr", parsed, interfaces)
        result["data_path_source"] = "data_path_addr (%s)" % parsed["kind"]
    cluster = []
    for addr in (result["advertise"], result["data_path"]):
        if addr and addr not in cluster:
            cluster.append(addr)
    result["cluster"] = cluster
    result["ip_versions"] = sorted(set(ip_version(a) for a in cluster if ip_version(a)))
    result["interface"] = interface_of_address(result["advertise"], interfaces) if result["advertise"] else None
    result["interfaces"] = sorted(interfaces)
    return result


def parse_ufw_status(text):
    """``ufw status verbose`` text: {'active': bool, 'default_incoming': 'deny'|'allow'|'reject'|None} (pure)."""
    text = text or ""
    active = bool(re.search(r"^Status: active\s*$", text, re.M))
    match = re.search(r"^Default: (\w+) \(incoming\)", text, re.M)
    return dict(active=active, default_incoming=match.group(1) if match else None)


# One line of `ufw show added`, e.g. "ufw allow from 10.0.0.2 to any app swarmnet-node comment 'swarmnet'".
_UFW_ADDED_RE = re.compile(r"^ufw (?P<rule>allow|deny|reject|limit) (?P<spec>.*?)(?: comment '(?P<comment>[^']*)')?\s*$")


def parse_ufw_added(text, comment_prefix="swarmnet"):
    """Rules in ``ufw show added`` text whose comment starts with ``comment_prefix`` (pure).

    Returns [{'rule', 'spec', 'comment', 'from', 'app', 'port'}]: ``spec`` is
    the rule as ufw prints it after the action (what ``ufw delete ACTION SPEC``
    takes); ``from``/``app``/``port`` are read from it when present.
    """
    result = []
    for line in (text or "").splitlines():
        match = _UFW_ADDED_RE.match(line.strip())
        if not match or not (match.group("comment") or "").startswith(comment_prefix):
            continue
        spec = match.group("spec")
        words = spec.split()
        entry = dict(rule=match.group("rule"), spec=spec, comment=match.group("comment"), **{"from": None})
        entry["app"] = None
        entry["port"] = None
        for key, field in (("from", "from"), ("app", "app"), ("port", "port")):
            if key in words and words.index(key) + 1 < len(words):
                entry[field] = words[words.index(key) + 1]
        if entry["port"] is None and words and re.match(r"^\d+(/\w+)?$", words[0]):
            entry["port"] = words[0]
        result.append(entry)
    return result


def parse_firewalld_zone_info(text):
    """``firewall-cmd [--permanent] --info-zone=ZONE`` text: {'target', 'interfaces', 'sources', 'ports', 'services', 'rich_rules'} (pure)."""
    info = dict(target=None, interfaces=[], sources=[], ports=[], services=[], rich_rules=[])
    in_rich = False
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line:
            continue
        if in_rich and raw.startswith("\t") and ":" not in line.split(" ", 1)[0]:
            info["rich_rules"].append(line)
            continue
        in_rich = False
        key, _sep, value = line.partition(":")
        value = value.strip()
        if key == "target":
            info["target"] = value
        elif key in ("interfaces", "sources", "ports", "services"):
            info[key] = value.split()
        elif key == "rich rules":
            in_rich = True
            if value:
                info["rich_rules"].append(value)
    return info


def parse_default_deny_record(text):
    """A record the firewall role wrote when it turned on default deny (JSON object), or None (pure).

    The role writes what the firewall had before (ufw: {"incoming": ...};
    firewalld: {"zone": ..., "target": ...}) so that turning default deny off
    gives that back. An empty or unreadable record is None: nothing to give back.
    """
    try:
        record = json.loads(text or "")
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def iptables_chains(save_text):
    """``iptables-save -t filter`` text as ``{chain: lines}``, each chain's lines as ``iptables -S CHAIN`` prints them (pure).

    A built-in chain starts with ``-P CHAIN POLICY``, a user chain with ``-N CHAIN``; its ``-A`` rules follow in order.
    One iptables-save call reads every chain the firewall role compares, instead of one ``iptables -S`` per chain.
    """
    chains = {}
    for line in (save_text or "").splitlines():
        if line.startswith(":"):
            name, policy = (line[1:].split() + ["-"])[:2]
            chains[name] = ["-N %s" % name if policy == "-" else "-P %s %s" % (name, policy)]
        elif line.startswith("-A "):
            name = line.split()[1]
            chains.setdefault(name, ["-N %s" % name]).append(line)
    return chains


def first_rule_jumps(text, parent, chain):
    """Whether the first rule in ``iptables -S PARENT`` text jumps to ``chain`` (pure)."""
    rules = [line for line in (text or "").splitlines() if line.startswith("-A %s " % parent)]
    return bool(rules) and rules[0].split()[-2:] == ["-j", chain]


def is_docker_plaintext_vxlan_drop(rule):
    """Whether an ``iptables -S`` rule is the engine's drop of VXLAN without IPsec for an encrypted
    overlay (pure): Docker inserts it at the top of INPUT and it must stay above the swarm chain,
    whose udp/4789 accept would otherwise let plaintext VXLAN into the encrypted network."""
    words = rule.split()
    return ("-m policy --dir in --pol none" in rule and "-m u32" in rule and "udp" in words
            and words[-2:] == ["-j", "DROP"])


def parse_iptables_input(text, chain):
    """``iptables -S INPUT`` text: the INPUT policy and whether its first rule jumps to ``chain`` (pure).

    The engine's plaintext-VXLAN drops of encrypted overlays above the jump do not count: they only drop.
    ``input_jump_at`` is where the jump belongs: below the engine's drops at the top of INPUT (1 without them),
    so that a jump put back never lets plaintext VXLAN past them.
    """
    policy = None
    kept = []
    drops_on_top = 0
    for line in (text or "").splitlines():
        if line.startswith("-P INPUT "):
            policy = line.split()[2]
        elif line.startswith("-A INPUT ") and is_docker_plaintext_vxlan_drop(line):
            drops_on_top += 1 if not [rule for rule in kept if rule.startswith("-A INPUT ")] else 0
        else:
            kept.append(line)
    return dict(input_policy=policy, input_jumps_first=first_rule_jumps("\n".join(kept), "INPUT", chain),
                input_jump_at=drops_on_top + 1)


def ufw_enabled_in_conf(text):
    """``ENABLED`` of /etc/ufw/ufw.conf: True, False, or None when the file does not say (pure).

    ``ufw disable`` writes ENABLED=no and unloads the rules, so a node whose config says no has ufw inactive.
    """
    for line in (text or "").splitlines():
        key, _sep, value = line.strip().partition("=")
        if key == "ENABLED":
            value = value.strip().strip("'\"").lower()
            return True if value == "yes" else False if value == "no" else None
    return None


def ufw_files_hold_our_rules(rules_text, comment_prefix="swarmnet"):
    """Whether ufw's user.rules text holds a rule whose comment starts with ``comment_prefix`` (pure).

    ufw keeps each rule as a ``### tuple ###`` line with its comment hex-encoded (``comment=<hex>``).
    """
    wanted = "comment=" + binascii.hexlify(comment_prefix.encode()).decode()
    return any(line.startswith("### tuple ###") and wanted in line for line in (rules_text or "").splitlines())


def decide_backend(ufw_active, firewalld_running):
    """The firewall in charge of the node: ufw when active, else firewalld when running, else iptables (pure)."""
    if ufw_active:
        return "ufw"
    if firewalld_running:
        return "firewalld"
    return "iptables"


def swarm_facts(info):
    """The swarm part of ``docker info`` (a dict) in the shape node_facts returns (pure)."""
    swarm = (info or {}).get("Swarm") or {}
    state = swarm.get("LocalNodeState") or "inactive"
    return dict(
        local_node_state=state,
        node_id=swarm.get("NodeID") or None,
        node_addr=swarm.get("NodeAddr") or None,
        control_available=bool(swarm.get("ControlAvailable")),
        locked=state == "locked",
        cluster_id=(swarm.get("Cluster") or {}).get("ID") or None,
        remote_managers=[m.get("Addr") for m in swarm.get("RemoteManagers") or [] if m.get("Addr")],
        # Filled in by the probe on a member: which other managers answer on their swarm port.
        managers_answering=[],
        managers_silent=[],
        cut_off=False,
    )


def other_managers(swarm):
    """The 'host:port' of the managers this node knows, other than itself: those it must reach (pure)."""
    own = swarm.get("node_addr")
    return [addr for addr in swarm.get("remote_managers") or [] if addr.rsplit(":", 1)[0].strip("[]") != own]


def cut_off(swarm):
    """Whether an active node reaches none of the other managers it knows (pure).

    swarm: swarm_facts() with managers_answering / managers_silent filled in
    by the probe. A node whose swarm has no other manager is never cut off.
    """
    return (swarm.get("local_node_state") == "active" and bool(swarm.get("managers_silent"))
            and not swarm.get("managers_answering"))


def swarm_node_list(nodes):
    """The managers' node list (``docker node ls`` as dicts) reduced to what other nodes need (pure).

    Status.Addr is the address the node's engine reports; for a manager,
    ManagerStatus.Addr carries the advertise address with the port.
    """
    result = []
    for node in nodes or []:
        spec = node.get("Spec") or {}
        status = node.get("Status") or {}
        manager_addr = (node.get("ManagerStatus") or {}).get("Addr") or ""
        result.append(dict(
            id=node.get("ID"),
            hostname=(node.get("Description") or {}).get("Hostname"),
            role=spec.get("Role"),
            availability=spec.get("Availability"),
            state=status.get("State"),
            addr=status.get("Addr") or None,
            manager_addr=manager_addr.rsplit(":", 1)[0].strip("[]") if manager_addr else None,
        ))
    return sorted(result, key=lambda n: (n["hostname"] or "", n["id"] or ""))

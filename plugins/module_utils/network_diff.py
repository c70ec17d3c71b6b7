# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure logic behind swarmnet.overlay.overlay_network: no Docker needed.

Validate and normalise what the user declares, normalise what the engine
reports (``docker network inspect``), compare the two, decide the action, and
the small service-spec manipulations the Docker side needs. Everything here
works on plain dicts so that it can be unit tested without an engine.
"""

import copy
import hashlib
import ipaddress
import json
import re
import socket
import struct

MTU_OPTION = "com.docker.network.driver.mtu"
ENCRYPTED_OPTION = "encrypted"
# Options the engine adds on its own; they are never compared and never
# copied when a network is recreated (the engine assigns them afresh).
ENGINE_ADDED_OPTIONS = frozenset([
    "com.docker.network.driver.overlay.vxlanid_list",
])
# Label on a network recreated with recreate: always_detach, listing the services
# taken off it that still have to be put back. Networks cannot be relabelled, so
# it stays; an entry counts as pending only while its service's spec is unchanged
# since the detach (same digest) and the service is still off the network.
PENDING_REATTACH_LABEL = "swarmnet.overlay.pending-reattach"
# Label put on a service, in the same update that takes it off a network being
# recreated, naming that network and the attachments removed; the update that
# puts it back drops it. A run that dies in between (engine restart) leaves it,
# and the next run finds the service by it, whatever state the network is in.
DETACHED_FROM_LABEL = "swarmnet.overlay.detached-from"
# Interfaces whose routes are Docker's own networks: their overlaps are found
# (and named better) by the network overlap check.
DOCKER_INTERFACE_PREFIXES = ("docker", "br-", "veth", "vx-", "ov-")
# Docker's own rule for network names (daemon/names.go RestrictedNamePattern).
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")

# Order in which fields are compared and reported.
COMPARED_FIELDS = (
    "ipam_config", "enable_ipv6", "attachable", "internal", "ingress",
    "encrypted", "mtu", "labels", "driver_options",
)
IPAM_KEYS = ("subnet", "gateway", "ip_range", "aux_addresses")


class NetworkSpecError(Exception):
    """A declared option is invalid. ``str()`` names the field and the fix."""

    def __init__(self, field, problem, fix):
        self.field = field
        self.problem = problem
        self.fix = fix
        super(NetworkSpecError, self).__init__("%s: %s. %s." % (field, problem, fix))


def _text(value):
    """Option and label values as the engine stores them: strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _parse_network(field, value, warnings):
    """A CIDR as an ip_network. Host bits set -> normalised with a warning."""
    if not isinstance(value, str) or "/" not in value:
        raise NetworkSpecError(
            field, "%r is not a CIDR" % (value,),
            "Write an address with a prefix length, e.g. 172.19.0.0/24 or fd00:19::/64")
    try:
        strict = ipaddress.ip_network(value, strict=False)
    except ValueError as exc:
        raise NetworkSpecError(
            field, "%r is not a valid CIDR (%s)" % (value, exc),
            "Write an address with a prefix length, e.g. 172.19.0.0/24 or fd00:19::/64")
    if str(strict) != value:
        try:
            ipaddress.ip_network(value)
            # Only a spelling difference (e.g. IPv6 zero compression): no warning.
        except ValueError:
            warnings.append(
                "%s: %s has host bits set; using %s. Write %s: Docker Engine 25.0 and later reject "
                "addresses with host bits set (as the tutorial's '--subnet 172.19.0.1/24')."
                % (field, value, strict, strict))
    return strict


def _parse_address(field, value):
    if not isinstance(value, str) or "/" in value:
        raise NetworkSpecError(field, "%r is not a plain IP address" % (value,),
                               "Write an address without a prefix length, e.g. 172.19.0.1")
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        raise NetworkSpecError(field, "%r is not a valid IP address" % (value,),
                               "Write an address such as 172.19.0.1 or fd00:19::1")


def _check_inside(field, address, subnet, subnet_field, what):
    if address.version != subnet.version or address not in subnet:
        raise NetworkSpecError(
            field, "%s %s is outside its subnet %s" % (what, address, subnet),
            "Choose an address inside %s, or change %s" % (subnet, subnet_field))


def _normalise_ipam_entry(index, entry, warnings):
    prefix = "ipam_config[%d]" % index
    subnet = _parse_network(prefix + ".subnet", entry.get("subnet"), warnings)
    result = {"subnet": str(subnet), "gateway": None, "ip_range": None, "aux_addresses": None}

    gateway = entry.get("gateway")
    if gateway is not None:
        address = _parse_address(prefix + ".gateway", gateway)
        _check_inside(prefix + ".gateway", address, subnet, prefix + ".subnet", "gateway")
        # The network and broadcast addresses of an IPv4 subnet cannot be a gateway.
        if subnet.version == 4 and subnet.prefixlen <= 30 and address in (subnet.network_address, subnet.broadcast_address):
            raise NetworkSpecError(
                prefix + ".gateway", "%s is the network or broadcast address of %s" % (address, subnet),
                "Use a host address such as %s" % (subnet.network_address + 1))
        result["gateway"] = str(address)

    ip_range = entry.get("ip_range")
    if ip_range is not None:
        rng = _parse_network(prefix + ".ip_range", ip_range, warnings)
        if rng.version != subnet.version or not rng.subnet_of(subnet):
            raise NetworkSpecError(
                prefix + ".ip_range", "%s is not inside its subnet %s" % (rng, subnet),
                "Choose a range inside %s, e.g. %s" % (subnet, subnet))
        result["ip_range"] = str(rng)

    aux = entry.get("aux_addresses")
    if aux is not None:
        if not isinstance(aux, dict):
            raise NetworkSpecError(prefix + ".aux_addresses", "must be a mapping of name to IP address",
                                   "Write e.g. {router: 172.19.0.5}")
        normalised = {}
        for key, value in aux.items():
            field = "%s.aux_addresses.%s" % (prefix, key)
            address = _parse_address(field, value)
            _check_inside(field, address, subnet, prefix + ".subnet", "auxiliary address")
            normalised[str(key)] = str(address)
        result["aux_addresses"] = normalised
    return result, subnet


def normalise_declared(params):
    """Validate the module's network options; return ``(declared, warnings)``.

    ``declared`` uses the same keys as :func:`normalise_actual`; ``None`` means
    "not declared, don't care". Raises NetworkSpecError on bad input.
    """
    warnings = []
    name = params.get("name")
    if not name or not NAME_PATTERN.match(name):
        raise NetworkSpecError("name", "%r is not a valid network name" % (name,),
                               "Use letters, digits, '_', '.' and '-', starting with a letter or digit")

    declared = {
        "name": name,
        "driver": "overlay",
        "ipam_config": None,
        "enable_ipv6": params.get("enable_ipv6"),
        "attachable": params.get("attachable"),
        "internal": params.get("internal"),
        "ingress": params.get("ingress"),
        "encrypted": params.get("encrypted"),
        "mtu": params.get("mtu"),
        "labels": None,
        "driver_options": None,
    }

    ipam = params.get("ipam_config")
    # An empty list declares nothing: the engine picks a subnet, so don't compare.
    if ipam:
        entries = []
        subnets = []
        for index, entry in enumerate(ipam):
            normalised, subnet = _normalise_ipam_entry(index, entry or {}, warnings)
            for other_index, other in enumerate(subnets):
                if subnet.version == other.version and subnet.overlaps(other):
                    raise NetworkSpecError(
                        "ipam_config[%d].subnet" % index,
                        "%s overlaps ipam_config[%d].subnet %s" % (subnet, other_index, other),
                        "Give each pool of a network its own, non-overlapping subnet")
            subnets.append(subnet)
            entries.append(normalised)
        declared["ipam_config"] = entries
        has_v6 = any(s.version == 6 for s in subnets)
        if has_v6 and declared["enable_ipv6"] is False:
            raise NetworkSpecError("enable_ipv6", "is false but ipam_config holds an IPv6 subnet",
                                   "Set enable_ipv6 to true (or leave it out), or drop the IPv6 subnet")
        if has_v6 and declared["enable_ipv6"] is None:
            # An IPv6 pool is useless without IPv6 enabled, so declaring one implies it.
            declared["enable_ipv6"] = True

    if params.get("labels") is not None:
        declared["labels"] = dict((str(k), _text(v)) for k, v in params["labels"].items())

    options = params.get("driver_options")
    if options is not None:
        options = dict((str(k), _text(v)) for k, v in options.items())
        # The dedicated options and their raw driver-option spellings must agree.
        if ENCRYPTED_OPTION in options:
            value = options.pop(ENCRYPTED_OPTION)
            if declared["encrypted"] is False:
                raise NetworkSpecError("driver_options.encrypted", "conflicts with encrypted: false",
                                       "Drop 'encrypted' from driver_options and use the encrypted option")
            declared["encrypted"] = True
            if value.lower() in ("false", "0", "no", "off"):
                warnings.append("driver_options.encrypted=%s still encrypts: the overlay driver only looks at "
                                "whether the key is present. Use encrypted: false to get a plain network." % value)
        if MTU_OPTION in options:
            raw = options.pop(MTU_OPTION)
            try:
                mtu = int(raw)
            except ValueError:
                raise NetworkSpecError("driver_options.%s" % MTU_OPTION, "%r is not a number" % raw,
                                       "Use the mtu option with an integer, e.g. mtu: 1400")
            if declared["mtu"] is not None and declared["mtu"] != mtu:
                raise NetworkSpecError("driver_options.%s" % MTU_OPTION,
                                       "%s conflicts with mtu: %s" % (mtu, declared["mtu"]),
                                       "Set the MTU in one place only (the mtu option)")
            declared["mtu"] = mtu
        for key in options:
            if key in ENGINE_ADDED_OPTIONS:
                raise NetworkSpecError("driver_options.%s" % key, "is assigned by the engine",
                                       "Remove it from driver_options")
        declared["driver_options"] = options

    mtu = declared["mtu"]
    if mtu is not None and not 68 <= mtu <= 65535:
        raise NetworkSpecError("mtu", "%s is out of range" % mtu, "Use a value between 68 and 65535, e.g. 1400")

    if declared["ingress"] and declared["attachable"]:
        raise NetworkSpecError("attachable", "an ingress network cannot be attachable",
                               "Drop attachable (or set it to false) when ingress is true")
    if declared["ingress"] and declared["internal"]:
        raise NetworkSpecError("internal", "an ingress network cannot be internal: it carries published ports",
                               "Drop internal (or set it to false) when ingress is true")
    return declared, warnings


def _strip_prefix(address):
    """Engines may report a gateway as 10.0.0.1/24; keep the address."""
    if not address:
        return None
    return address.split("/", 1)[0]


def _engine_network(value):
    """A CIDR the engine reports; 20.10 keeps host bits as the user wrote them."""
    if not value:
        return None
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        return value


def _ipam_sort_key(entry):
    try:
        net = ipaddress.ip_network(entry["subnet"], strict=False)
        return (net.version, int(net.network_address), net.prefixlen)
    except (TypeError, ValueError):
        return (9, 0, 0)


def normalise_actual(inspect):
    """Normalise a ``docker network inspect`` result to the declared shape.

    Returns None when ``inspect`` is None.
    """
    if inspect is None:
        return None
    options = dict(inspect.get("Options") or {})
    labels = dict(inspect.get("Labels") or {})
    # Bookkeeping of this module, not part of what the user declares.
    pending = labels.pop(PENDING_REATTACH_LABEL, None)
    mtu = options.pop(MTU_OPTION, None)
    if mtu is not None:
        try:
            mtu = int(mtu)
        except ValueError:
            pass
    # The overlay driver encrypts whenever the key is present, whatever its value
    # ("" from the CLI's --opt encrypted, "true" from other tools).
    encrypted = ENCRYPTED_OPTION in options
    options.pop(ENCRYPTED_OPTION, None)

    ipam = []
    for entry in ((inspect.get("IPAM") or {}).get("Config") or []):
        ipam.append({
            "subnet": _engine_network(entry.get("Subnet")),
            "gateway": _strip_prefix(entry.get("Gateway")),
            "ip_range": _engine_network(entry.get("IPRange")),
            "aux_addresses": dict(entry.get("AuxiliaryAddresses") or {}),
        })
    ipam.sort(key=_ipam_sort_key)

    return {
        "name": inspect.get("Name"),
        "id": inspect.get("Id"),
        "driver": inspect.get("Driver"),
        "scope": inspect.get("Scope"),
        "ipam_config": ipam,
        "enable_ipv6": bool(inspect.get("EnableIPv6")),
        "attachable": bool(inspect.get("Attachable")),
        "internal": bool(inspect.get("Internal")),
        "ingress": bool(inspect.get("Ingress")),
        "encrypted": encrypted,
        "mtu": mtu,
        "labels": labels,
        "driver_options": options,
        "pending_reattach": decode_pending(pending),
    }


def _pair_ipam(declared, actual):
    """Pair declared pools with actual ones: same subnet first, then same IP version in order.

    Returns a list of (declared_index or None, declared_entry or None, actual_entry or None).
    """
    def version(entry):
        try:
            return ipaddress.ip_network(entry["subnet"], strict=False).version
        except (TypeError, ValueError):
            return None

    remaining = list(actual)
    pairs = []
    unmatched = []
    for index, entry in enumerate(declared):
        match = next((a for a in remaining if a["subnet"] == entry["subnet"]), None)
        if match is not None:
            remaining.remove(match)
            pairs.append((index, entry, match))
        else:
            unmatched.append((index, entry))
    for index, entry in unmatched:
        match = next((a for a in remaining if version(a) == version(entry)), None)
        if match is not None:
            remaining.remove(match)
        pairs.append((index, entry, match))
    pairs.sort(key=lambda p: p[0])
    for entry in remaining:
        pairs.append((None, None, entry))
    return pairs


def _ipam_differences(declared, actual):
    differences = []
    for index, want, have in _pair_ipam(declared, actual):
        if want is None:
            differences.append({"field": "ipam_config", "before": have, "after": None})
            continue
        field = "ipam_config[%d]" % index
        if have is None:
            differences.append({"field": field, "before": None, "after": want})
            continue
        for key in IPAM_KEYS:
            wanted = want[key]
            if wanted is None:
                continue
            current = have[key]
            if key == "aux_addresses":
                current = current or {}
            if wanted != current:
                differences.append({"field": "%s.%s" % (field, key), "before": current, "after": wanted})
    return differences


def compare(declared, actual):
    """Differences between declared and actual (both normalised).

    Returns a list of ``{"field", "before", "after"}``; undeclared (None)
    options are not compared.
    """
    differences = []
    for field in COMPARED_FIELDS:
        wanted = declared.get(field)
        if wanted is None:
            continue
        current = actual.get(field)
        if field == "ipam_config":
            differences.extend(_ipam_differences(wanted, current or []))
        elif field == "driver_options":
            # Only the keys the user declared: the engine adds its own (vxlanid_list).
            for key in sorted(wanted):
                if (current or {}).get(key) != wanted[key]:
                    differences.append({"field": "driver_options.%s" % key,
                                        "before": (current or {}).get(key), "after": wanted[key]})
        elif wanted != current:
            differences.append({"field": field, "before": current, "after": wanted})
    return differences


def desired_state(declared, actual=None):
    """The network as it should be: actual (if any) with the declared fields applied.

    Undeclared fields keep their current value, so a recreate preserves them;
    with no actual network they take the engine's defaults.
    """
    if actual is None:
        state = {
            "name": declared["name"], "driver": "overlay", "scope": "swarm", "ipam_config": [],
            "enable_ipv6": False, "attachable": False, "internal": False, "ingress": False,
            "encrypted": False, "mtu": None, "labels": {}, "driver_options": {},
        }
    else:
        state = copy.deepcopy(actual)
        state.pop("id", None)
        state.pop("pending_reattach", None)
        # The engine hands out a new VXLAN ID on creation.
        state["driver_options"] = dict((k, v) for k, v in state["driver_options"].items() if k not in ENGINE_ADDED_OPTIONS)
    for field in COMPARED_FIELDS:
        wanted = declared.get(field)
        if wanted is None:
            continue
        if field == "driver_options":
            state[field].update(wanted)
        elif field == "ipam_config":
            merged = []
            for _index, want, have in _pair_ipam(wanted, state["ipam_config"]):
                if want is None:
                    continue
                entry = dict(want)
                # Keep what the engine assigned (e.g. the gateway) only for the same subnet.
                if have is not None and have["subnet"] == want["subnet"]:
                    for key in IPAM_KEYS:
                        if entry[key] is None:
                            entry[key] = have[key]
                if entry["aux_addresses"] is None:
                    entry["aux_addresses"] = {}
                merged.append(entry)
            state[field] = merged
        else:
            state[field] = copy.deepcopy(wanted)
    return state


def decide_action(state, actual, differences):
    """One of ``none``, ``create``, ``recreate``, ``remove``."""
    if state == "absent":
        return "remove" if actual is not None else "none"
    if actual is None:
        return "create"
    return "recreate" if differences else "none"


def _show(value):
    if value is None:
        return "(not set)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict) and not value:
        return "{}"
    return str(value)


def format_differences(differences):
    """``field: before -> after`` lines joined by '; '."""
    return "; ".join("%s: %s -> %s" % (d["field"], _show(d["before"]), _show(d["after"])) for d in differences)


def create_arguments(state):
    """Keyword arguments for ``client.api.create_network`` from a desired state."""
    options = dict(state.get("driver_options") or {})
    for key in ENGINE_ADDED_OPTIONS:
        options.pop(key, None)
    if state.get("mtu") is not None:
        options[MTU_OPTION] = str(state["mtu"])
    if state.get("encrypted"):
        # What `docker network create --opt encrypted` sends.
        options[ENCRYPTED_OPTION] = ""
    ipam = None
    if state.get("ipam_config"):
        pools = []
        for entry in state["ipam_config"]:
            pool = {"Subnet": entry["subnet"]}
            if entry.get("gateway"):
                pool["Gateway"] = entry["gateway"]
            if entry.get("ip_range"):
                pool["IPRange"] = entry["ip_range"]
            if entry.get("aux_addresses"):
                pool["AuxiliaryAddresses"] = dict(entry["aux_addresses"])
            pools.append(pool)
        ipam = {"Driver": "default", "Config": pools, "Options": {}}
    return {
        "name": state["name"],
        "driver": "overlay",
        "options": options,
        "ipam": ipam,
        "check_duplicate": True,
        "internal": bool(state.get("internal")),
        "labels": dict(state.get("labels") or {}),
        "enable_ipv6": bool(state.get("enable_ipv6")),
        "attachable": bool(state.get("attachable")),
        "scope": "swarm",
        "ingress": bool(state.get("ingress")),
    }


def spec_digest(spec):
    """A short digest of a service spec, to tell whether anyone changed it (pure).

    Not the service's Version.Index: the engine bumps that by itself when it
    records an update's progress (seen on the lab), without a spec change.
    """
    return hashlib.sha256(json.dumps(spec or {}, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def encode_pending(entries):
    """The PENDING_REATTACH_LABEL value for [{id, name, spec, removed}] (pure)."""
    return json.dumps([{"id": e["id"], "name": e["name"], "spec": e["spec"],
                        "removed": [[position, attachment] for position, attachment in e["removed"]]} for e in entries],
                      sort_keys=True, separators=(",", ":"))


def decode_pending(text):
    """Entries of a PENDING_REATTACH_LABEL value; [] when absent or unreadable (pure)."""
    if not text:
        return []
    try:
        entries = json.loads(text)
        return [{"id": e["id"], "name": e["name"], "spec": e.get("spec"),
                 "removed": [(int(p), dict(a)) for p, a in e["removed"]]} for e in entries]
    except (TypeError, ValueError, KeyError, AttributeError):
        return []


def pending_reattachments(pending, services, network_id, network_name):
    """Entries of ``pending`` whose service still has to be put back on the network (pure).

    A service is still pending when it exists, its spec is the one it had
    right after it was detached (same digest: nobody changed it since), and it is not
    attached to the network. A service updated since then is left alone: its
    owner decided its networks.
    """
    by_id = dict((s.get("ID"), s) for s in services)
    todo = []
    for entry in pending:
        service = by_id.get(entry["id"])
        if service is None:
            continue
        if entry.get("spec") is not None and spec_digest(service.get("Spec")) != entry["spec"]:
            continue
        _kept, attached = split_attachments(service_attachments(service.get("Spec") or {}), network_id, network_name)
        if not attached:
            todo.append(entry)
    return todo


def detached_from_value(network_name, removed):
    """The DETACHED_FROM_LABEL value for a service taken off ``network_name`` (pure)."""
    return json.dumps({"network": network_name, "removed": [[p, a] for p, a in removed]}, sort_keys=True, separators=(",", ":"))


def services_detached_from(services, network_id, network_name):
    """Services labelled as taken off this network by an earlier run and not back on it (pure).

    Returns entries shaped like decode_pending()'s: id, name, spec (None), removed.
    """
    found = []
    for service in services:
        spec = service.get("Spec") or {}
        text = (spec.get("Labels") or {}).get(DETACHED_FROM_LABEL)
        if not text:
            continue
        try:
            value = json.loads(text)
            removed = [(int(p), dict(a)) for p, a in value["removed"]]
        except (TypeError, ValueError, KeyError, AttributeError):
            continue
        if value.get("network") != network_name:
            continue
        _kept, attached = split_attachments(service_attachments(spec), network_id, network_name)
        if not attached:
            found.append({"id": service.get("ID"), "name": spec.get("Name"), "spec": None, "removed": removed})
    return found


def parse_proc_net_route(text):
    """IPv4 routes of /proc/net/route as [(interface, 'a.b.c.d/n')], default routes left out (pure)."""
    routes = []
    for line in (text or "").splitlines()[1:]:
        fields = line.split()
        if len(fields) < 8:
            continue
        try:
            destination = socket.inet_ntoa(struct.pack("<L", int(fields[1], 16)))
            mask = socket.inet_ntoa(struct.pack("<L", int(fields[7], 16)))
            network = ipaddress.ip_network("%s/%s" % (destination, mask), strict=False)
        except (ValueError, struct.error, OSError):
            continue
        if network.prefixlen == 0:
            continue
        routes.append((fields[0], str(network)))
    return routes


def declared_subnets(state):
    """The declared subnets of ``state`` as ip_network objects (invalid ones are validate()'s to report)."""
    found = []
    for entry in state.get("ipam_config") or []:
        try:
            found.append(ipaddress.ip_network(entry["subnet"], strict=False))
        except (TypeError, ValueError):
            continue
    return found


def underlay_overlaps(state, node_addresses, routes):
    """Declared subnets that contain a swarm node's address or overlap a route of this node (pure).

    ``node_addresses`` is [(hostname, address)], ``routes`` [(interface, cidr)].
    Routes of Docker's own interfaces are skipped (the network check names
    those networks). Returns a list of human-readable overlaps.
    """
    found = []
    mine = declared_subnets(state)
    for subnet in mine:
        for hostname, address in node_addresses:
            try:
                ip = ipaddress.ip_address(str(address))
            except ValueError:
                continue
            if ip.version == subnet.version and not ip.is_unspecified and ip in subnet:
                found.append("subnet %s contains %s, the address of swarm node %s" % (subnet, ip, hostname))
        for interface, cidr in routes:
            if interface.startswith(DOCKER_INTERFACE_PREFIXES):
                continue
            try:
                route = ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                continue
            if route.version == subnet.version and route.overlaps(subnet):
                found.append("subnet %s overlaps the route to %s via %s on this manager" % (subnet, route, interface))
    return found


def subnet_overlaps(state, networks, skip_ids=()):
    """Declared subnets that overlap subnets of other networks.

    ``networks`` are engine network objects (``docker network ls`` / inspect
    shape). Returns a list of dicts: subnet, network, network_id, driver,
    scope, other_subnet.
    """
    found = []
    mine = declared_subnets(state)
    for net in networks:
        if net.get("Id") in skip_ids:
            continue
        for pool in ((net.get("IPAM") or {}).get("Config") or []):
            try:
                other = ipaddress.ip_network(pool.get("Subnet") or "", strict=False)
            except ValueError:
                continue
            for subnet in mine:
                if subnet.version == other.version and subnet.overlaps(other):
                    found.append({
                        "subnet": str(subnet), "network": net.get("Name"), "network_id": net.get("Id"),
                        "driver": net.get("Driver"), "scope": net.get("Scope"), "other_subnet": str(other),
                    })
    return found


def address_in_subnets(address, subnets):
    """Whether an IP address (optionally with /prefix) lies in one of the CIDRs."""
    try:
        ip = ipaddress.ip_address(address.split("/", 1)[0])
    except ValueError:
        return False
    for subnet in subnets:
        try:
            net = ipaddress.ip_network(subnet, strict=False)
        except ValueError:
            continue
        if ip.version == net.version and ip in net:
            return True
    return False


# --- service specs -----------------------------------------------------------

def service_attachments(spec):
    """The network attachments a service spec is using.

    TaskTemplate.Networks, else the deprecated top-level Spec.Networks (the
    same rule the engine and the SDK apply).
    """
    networks = (spec.get("TaskTemplate") or {}).get("Networks")
    if not networks:
        networks = spec.get("Networks")
    return [dict(n) for n in (networks or [])]


def targets_network(target, network_id, network_name):
    """Whether an attachment Target (ID, ID prefix or name) means this network."""
    if not target:
        return False
    if target in (network_id, network_name):
        return True
    # The engine resolves unambiguous ID prefixes; names never look like 12+ hex chars by chance.
    return len(target) >= 12 and bool(network_id) and network_id.startswith(target)


def split_attachments(attachments, network_id, network_name):
    """Split attachments into (kept, removed); removed is a list of (position, attachment)."""
    kept = []
    removed = []
    for position, attachment in enumerate(attachments):
        if targets_network(attachment.get("Target"), network_id, network_name):
            removed.append((position, attachment))
        else:
            kept.append(attachment)
    return kept, removed


def restore_attachments(current, removed, new_network_id):
    """Put removed attachments back at their old positions, pointing at ``new_network_id``."""
    result = [dict(a) for a in current]
    for position, attachment in sorted(removed, key=lambda p: p[0]):
        restored = dict(attachment)
        restored["Target"] = new_network_id
        if any(a.get("Target") == new_network_id for a in result):
            continue
        result.insert(min(position, len(result)), restored)
    return result


def ingress_published_ports(spec):
    """Ports a service spec publishes through the routing mesh (mode ingress, the default)."""
    ports = []
    for port in ((spec.get("EndpointSpec") or {}).get("Ports") or []):
        # Without PublishedPort the engine picks one (30000+), still through the mesh.
        if (port.get("PublishMode") or "ingress") != "ingress":
            continue
        ports.append("%s:%s/%s" % (port.get("PublishedPort") or "auto", port.get("TargetPort"), port.get("Protocol") or "tcp"))
    return ports

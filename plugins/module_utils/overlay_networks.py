# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Docker-touching half of swarmnet.overlay.overlay_network.

Finds the network and whoever uses it (services, standalone containers,
services publishing ports through the ingress network), creates and removes
networks, and moves services off a network and back with service updates that
keep the rest of their spec. :class:`OverlayNetworkReconciler` puts it together.
Works with the Docker SDK for Python 5.0.3 (Debian 12) and later.
"""

import copy
import time

from ansible_collections.swarmnet.overlay.plugins.module_utils.docker_client import (
    DockerException,
    RequestException,
    NotFound,
    api_error_text,
)
from ansible_collections.swarmnet.overlay.plugins.module_utils.network_diff import (
    ENGINE_ADDED_OPTIONS,
    DETACHED_FROM_LABEL,
    PENDING_REATTACH_LABEL,
    NetworkSpecError,
    address_in_subnets,
    compare,
    create_arguments,
    decide_action,
    desired_state,
    detached_from_value,
    encode_pending,
    format_differences,
    ingress_published_ports,
    normalise_actual,
    normalise_declared,
    parse_proc_net_route,
    pending_reattachments,
    restore_attachments,
    service_attachments,
    services_detached_from,
    spec_digest,
    split_attachments,
    subnet_overlaps,
    underlay_overlaps,
)

# Engine answers that mean "still in use, try again shortly" while tasks drain.
_IN_USE_MARKERS = ("in use", "active endpoints")
_TASK_LABEL = "com.docker.swarm.task.id"


class OverlayNetworkFailure(Exception):
    """The task must fail; ``result`` holds extra return values for fail_json."""

    def __init__(self, msg, **result):
        super(OverlayNetworkFailure, self).__init__(msg)
        self.msg = msg
        self.result = result


def _short(object_id):
    return (object_id or "")[:12]


def engine_call(what, func, *args, **kwargs):
    """Call the engine; turn any engine error (refusal or no answer) into OverlayNetworkFailure naming ``what``."""
    try:
        return func(*args, **kwargs)
    except (DockerException, RequestException) as exc:
        raise OverlayNetworkFailure("Docker engine refused to %s: %s" % (what, api_error_text(exc)))


def read_routes(path="/proc/net/route"):
    """This manager's IPv4 routes [(interface, cidr)]; [] when the file cannot be read."""
    try:
        with open(path) as handle:
            return parse_proc_net_route(handle.read())
    except (IOError, OSError):
        return []


def swarm_node_addresses(client):
    """[(hostname, address)] of every node of the swarm, as the managers know them (Status.Addr)."""
    found = []
    for node in engine_call("list nodes", client.api.nodes) or []:
        hostname = (node.get("Description") or {}).get("Hostname") or node.get("ID")
        for address in ((node.get("Status") or {}).get("Addr"), ((node.get("ManagerStatus") or {}).get("Addr") or "").rsplit(":", 1)[0]):
            if address and (hostname, address) not in found:
                found.append((hostname, address))
    return found


def swarm_manager_info(client):
    """``docker info`` of this node; fail unless it is an active swarm manager."""
    info = engine_call("report its info", client.info)
    swarm = info.get("Swarm") or {}
    if swarm.get("LocalNodeState") != "active" or not swarm.get("ControlAvailable"):
        raise OverlayNetworkFailure(
            "overlay_network must run on a swarm manager, but %s is %s%s. Run the task on a manager "
            "(e.g. delegate_to a host of the managers group)."
            % (info.get("Name") or "this node", swarm.get("LocalNodeState") or "not in a swarm",
               " (worker)" if swarm.get("LocalNodeState") == "active" else ""))
    return info


def list_networks(client):
    """Every network this manager sees: the swarm's overlays and its local networks."""
    return engine_call("list networks", client.api.networks) or []


def find_network(networks, name):
    """Split the networks named ``name`` into (swarm overlays, others)."""
    named = [n for n in networks if n.get("Name") == name]
    overlays = [n for n in named if n.get("Driver") == "overlay" and n.get("Scope") == "swarm"]
    others = [n for n in named if n not in overlays]
    return overlays, others


def inspect_network(client, network_id):
    """``docker network inspect`` or None when it does not exist (any more)."""
    try:
        return client.api.inspect_network(network_id)
    except NotFound:
        return None
    except (DockerException, RequestException) as exc:
        raise OverlayNetworkFailure("Docker engine refused to inspect network %s: %s" % (network_id, api_error_text(exc)))


def list_services(client):
    return engine_call("list services", client.api.services) or []


def services_using_network(services, network_id, network_name):
    """Services whose spec attaches them to the network.

    Returns dicts: id, name, removed (list of (position, attachment)).
    """
    users = []
    for service in services:
        spec = service.get("Spec") or {}
        _kept, removed = split_attachments(service_attachments(spec), network_id, network_name)
        if removed:
            users.append({"id": service.get("ID"), "name": spec.get("Name"), "removed": removed})
    return users


def ingress_publishers(services):
    """Services that publish ports through the routing mesh: they pin the ingress network."""
    found = []
    for service in services:
        spec = service.get("Spec") or {}
        ports = ingress_published_ports(spec)
        if ports:
            found.append({"id": service.get("ID"), "name": spec.get("Name"), "ports": ports})
    return found


def standalone_containers(client, network_inspect, local_node_id, local_hostname):
    """Non-service containers attached to the network.

    Local ones come from the network's endpoints on this manager; those on
    other nodes from the swarm's network-attachment tasks. Returns dicts:
    id, name, node, local, endpoint (local ones only: their endpoint settings).
    """
    network_id = network_inspect.get("Id")
    network_name = network_inspect.get("Name")
    found = {}
    for container_id in (network_inspect.get("Containers") or {}):
        # Load-balancer and ingress sandboxes are endpoints, not containers.
        if container_id.startswith("lb-") or container_id == "ingress-sbox":
            continue
        try:
            container = client.api.inspect_container(container_id)
        except NotFound:
            continue
        except (DockerException, RequestException) as exc:
            raise OverlayNetworkFailure("Docker engine refused to inspect container %s: %s" % (container_id, api_error_text(exc)))
        if _TASK_LABEL in ((container.get("Config") or {}).get("Labels") or {}):
            continue
        networks = (container.get("NetworkSettings") or {}).get("Networks") or {}
        endpoint = networks.get(network_name)
        if endpoint is None:
            endpoint = next((e for e in networks.values() if e.get("NetworkID") == network_id), {})
        found[container["Id"]] = {
            "id": container["Id"], "name": (container.get("Name") or "").lstrip("/"),
            "node": local_hostname, "local": True, "endpoint": endpoint,
        }

    # Standalone containers on swarm networks are "attachment" tasks, which the
    # task list only shows when asked for that runtime.
    tasks = engine_call("list tasks", client.api.tasks, filters={"runtime": "attachment", "desired-state": "running"}) or []
    hostnames = None
    for task in tasks:
        attachment_spec = (task.get("Spec") or {}).get("NetworkAttachmentSpec")
        if not attachment_spec:
            continue
        if not any((a.get("Network") or {}).get("ID") == network_id for a in (task.get("NetworksAttachments") or [])):
            continue
        container_id = attachment_spec.get("ContainerID") or ""
        if container_id in found or task.get("NodeID") == local_node_id:
            continue
        if hostnames is None:
            nodes = engine_call("list nodes", client.api.nodes) or []
            hostnames = dict((n.get("ID"), (n.get("Description") or {}).get("Hostname")) for n in nodes)
            names = _remote_names(client, network_id)
        addresses = [a.split("/")[0] for att in task.get("NetworksAttachments") or [] for a in att.get("Addresses") or []]
        found[container_id] = {
            "id": container_id, "name": next((names[a] for a in addresses if a in names), _short(container_id)),
            "node": hostnames.get(task.get("NodeID")) or task.get("NodeID"), "local": False, "endpoint": None,
        }
    return sorted(found.values(), key=lambda c: (c["node"] or "", c["name"]))


def _remote_names(client, network_id):
    """Container names by address, from the manager's gossip view (only when it has the network itself)."""
    try:
        verbose = client.api.inspect_network(network_id, verbose=True)
    except (DockerException, RequestException):
        return {}
    anonymous = ((verbose.get("Services") or {}).get("") or {}).get("Tasks") or []
    return dict((t.get("EndpointIP"), t.get("Name")) for t in anonymous if t.get("EndpointIP") and t.get("Name"))


def set_service_networks(client, service_id, attachments, label_changes=None):
    """Service update that changes only the network attachments.

    Re-reads the service for the current spec and version, then sends the
    whole spec back with TaskTemplate.Networks replaced. The deprecated
    top-level Spec.Networks is dropped (its entries are in ``attachments``).
    Returns the engine's warnings.
    """
    service = engine_call("inspect service %s" % service_id, client.api.inspect_service, service_id)
    spec = service.get("Spec") or {}
    task_template = copy.deepcopy(spec.get("TaskTemplate") or {})
    task_template["Networks"] = attachments
    answer = engine_call(
        "update service %s" % (spec.get("Name") or service_id),
        client.api.update_service,
        service_id,
        service["Version"]["Index"],
        task_template=task_template,
        name=spec.get("Name"),
        # {} rather than None: None would send null and wipe the labels.
        labels=_changed_labels(spec.get("Labels"), label_changes),
        mode=spec.get("Mode"),
        update_config=spec.get("UpdateConfig"),
        rollback_config=spec.get("RollbackConfig"),
        networks=attachments,
        endpoint_spec=spec.get("EndpointSpec"),
        fetch_current_spec=False,
    )
    return list((answer or {}).get("Warnings") or [])


def _changed_labels(labels, changes):
    """Service labels with ``changes`` applied (a None value removes the label)."""
    result = dict(labels or {})
    for key, value in (changes or {}).items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def detach_service(client, user, network_id, network_name, remember=False):
    """Take a service off the network.

    Returns (the attachments removed with their positions, the digest of the
    service's spec after the update): the digest tells a later run whether
    someone else changed the service since. With ``remember`` (a recreate) the
    same update labels the service with what to put back (DETACHED_FROM_LABEL).
    """
    service = engine_call("inspect service %s" % user["name"], client.api.inspect_service, user["id"])
    kept, removed = split_attachments(service_attachments(service.get("Spec") or {}), network_id, network_name)
    if not removed:
        return removed, spec_digest(service.get("Spec"))
    set_service_networks(client, user["id"], kept,
                         {DETACHED_FROM_LABEL: detached_from_value(network_name, removed)} if remember else None)
    service = engine_call("inspect service %s" % user["name"], client.api.inspect_service, user["id"])
    return removed, spec_digest(service.get("Spec"))


def reattach_service(client, user, removed, network_id):
    """Put a service back on a network at the positions its attachments had."""
    service = engine_call("inspect service %s" % user["name"], client.api.inspect_service, user["id"])
    current = service_attachments(service.get("Spec") or {})
    return set_service_networks(client, user["id"], restore_attachments(current, removed, network_id), {DETACHED_FROM_LABEL: None})


def disconnect_container(client, container, network_id):
    engine_call("disconnect container %s" % container["name"], client.api.disconnect_container_from_network,
                container["id"], network_id)


def reconnect_container(client, container, network_id, subnets=None, warn=None):
    """Connect a container again with the aliases and addresses it had.

    An address outside ``subnets`` (the network's subnets, when it was
    recreated with new ones) is dropped so that the engine picks a new one.
    """
    endpoint = container.get("endpoint") or {}
    ipam = endpoint.get("IPAMConfig") or {}
    # The engine adds the short container ID as an alias by itself.
    aliases = [a for a in (endpoint.get("Aliases") or []) if a != _short(container["id"])]
    kwargs = {
        "ipv4_address": ipam.get("IPv4Address") or None,
        "ipv6_address": ipam.get("IPv6Address") or None,
        "aliases": aliases or None,
        "links": endpoint.get("Links") or None,
        "link_local_ips": ipam.get("LinkLocalIPs") or None,
    }
    if endpoint.get("DriverOpts"):
        kwargs["driver_opt"] = endpoint["DriverOpts"]
    if subnets is not None:
        for key in ("ipv4_address", "ipv6_address"):
            if kwargs[key] and not address_in_subnets(kwargs[key], subnets):
                if warn:
                    warn("container %s gets a new address on the network: %s is outside its subnets %s"
                         % (container["name"], kwargs[key], ", ".join(subnets)))
                kwargs[key] = None
    engine_call("reconnect container %s" % container["name"], client.api.connect_container_to_network,
                container["id"], network_id, **kwargs)


def remove_network(client, network_id, timeout, sleep=time.sleep, clock=time.time):
    """Remove a network, retrying while tasks drain off it, then wait until it is gone.

    Returns True when the manager no longer shows it within ``timeout`` seconds.
    """
    deadline = clock() + timeout
    while True:
        try:
            client.api.remove_network(network_id)
            break
        except NotFound:
            break
        except (DockerException, RequestException) as exc:
            text = api_error_text(exc)
            # Services just updated still have tasks on it until the updater reaches them.
            if any(m in text for m in _IN_USE_MARKERS) and clock() < deadline:
                sleep(1)
                continue
            raise OverlayNetworkFailure("Docker engine refused to remove network %s: %s" % (network_id, text))
    return wait_network_gone(client, network_id, deadline, sleep=sleep, clock=clock)


def wait_network_gone(client, network_id, deadline, sleep=time.sleep, clock=time.time):
    """Overlay networks linger on the manager a moment after removal: poll until gone."""
    while True:
        if inspect_network(client, network_id) is None:
            return True
        if clock() >= deadline:
            return False
        sleep(0.5)


def _created_meanwhile(client, state, avoid_ids):
    """The ID of a swarm overlay named like ``state`` that matches it, other than ``avoid_ids``, or None.

    A create whose answer was lost (the engine restarted while answering) may
    have gone through: then the network is there, as asked, and is ours.
    """
    try:
        candidates = [n for n in client.api.networks() if n.get("Name") == state["name"] and n.get("Driver") == "overlay"]
    except (DockerException, RequestException):
        return None
    for candidate in candidates:
        if candidate.get("Id") in avoid_ids:
            continue
        try:
            actual = normalise_actual(inspect_network(client, candidate["Id"]))
        except OverlayNetworkFailure:
            continue
        if actual is not None and not compare(dict(state, driver_options=None, labels=None), actual):
            return actual["id"]
    return None


def create_network(client, state, timeout, sleep=time.sleep, clock=time.time, extra_labels=None, avoid_ids=()):
    """Create a network from a desired state (plus this module's own labels); return its ID.

    ``avoid_ids`` are networks just removed (they can linger): never taken
    for one this call created.
    """
    deadline = clock() + timeout
    kwargs = create_arguments(state)
    kwargs["labels"].update(extra_labels or {})
    while True:
        try:
            created = client.api.create_network(**kwargs)
            return created.get("Id") or created.get("ID")
        except (DockerException, RequestException) as exc:
            text = api_error_text(exc)
            adopted = _created_meanwhile(client, state, avoid_ids)
            if adopted:
                return adopted
            if "did not answer" in text and clock() < deadline:
                # The engine is restarting: ask again once it answers.
                sleep(2)
                continue
            # A just-removed network (or ingress network) can still be in the way briefly.
            if "already" in text and clock() < deadline:
                sleep(1)
                continue
            raise OverlayNetworkFailure("Docker engine refused to create network %s: %s" % (state["name"], text))


def _public(normalised):
    """A normalised network for diff output: no ID, no engine-assigned options."""
    if normalised is None:
        return {}
    result = dict(normalised)
    result.pop("id", None)
    result.pop("pending_reattach", None)
    result["driver_options"] = dict((k, v) for k, v in (result.get("driver_options") or {}).items() if k not in ENGINE_ADDED_OPTIONS)
    return result


def _describe_users(services, containers, publishers=()):
    parts = []
    if services:
        parts.append("services %s" % ", ".join("%s (%s)" % (s["name"], _short(s["id"])) for s in services))
    if containers:
        parts.append("standalone containers %s" % ", ".join("%s on %s" % (c["name"], c["node"]) for c in containers))
    if publishers:
        parts.append("services publishing ports in ingress mode: %s" % _describe_publishers(publishers))
    return "; ".join(parts)


def _remote_hint(name, containers):
    """Advice for standalone containers on other nodes, which no option here can move."""
    if not any(not c["local"] for c in containers):
        return ""
    return " (containers on other nodes must first be disconnected there: docker network disconnect %s CONTAINER)" % name


def _describe_publishers(publishers):
    return ", ".join("%s (%s)" % (p["name"], ", ".join(p["ports"])) for p in publishers)


class OverlayNetworkReconciler(object):
    """Bring one swarm overlay network to the declared state.

    ``params`` are the module's parameters; ``get_client`` returns a
    docker.DockerClient and is called only once the options are valid.
    :meth:`run` returns the result dict, or raises OverlayNetworkFailure
    (carrying diff/differences) having changed nothing - or, if a step failed
    half way, having rolled back what it could, which the message says.
    """

    def __init__(self, get_client, params, check_mode=False, warn=None, sleep=None, clock=None):
        self._get_client = get_client
        self.client = None
        self.local_node_id = None
        self.local_hostname = None
        self.inspect = None
        self.params = params
        self.check_mode = check_mode
        self._warn = warn
        # Looked up at run time so that tests can replace them.
        self.sleep = sleep or time.sleep
        self.clock = clock or time.time
        self.warnings = []
        self.actions = []
        self.services_touched = []
        self.services_detached = []
        self.containers_touched = []
        self.differences = []
        self.diff = {"before": {}, "after": {}}

    # -- helpers --------------------------------------------------------------

    def warn(self, text):
        self.warnings.append(text)
        if self._warn:
            self._warn(text)

    def fail(self, msg):
        raise OverlayNetworkFailure(msg, **self._result(False, self.inspect))

    def _result(self, changed, network):
        return {
            "changed": changed,
            "network": network,
            "actions": list(self.actions),
            "services_touched": list(self.services_touched),
            "services_detached": list(self.services_detached),
            "containers_touched": list(self.containers_touched),
            "differences": list(self.differences),
            "diff": self.diff,
        }

    def _touch_service(self, name):
        if name not in self.services_touched:
            self.services_touched.append(name)

    def _touch_container(self, name):
        if name not in self.containers_touched:
            self.containers_touched.append(name)

    # -- main -----------------------------------------------------------------

    def run(self):
        params = self.params
        name = params["name"]
        present = params["state"] == "present"
        try:
            declared, warnings = normalise_declared(params if present else {"name": name})
        except NetworkSpecError as exc:
            raise OverlayNetworkFailure("Invalid option %s Nothing was changed." % exc, **self._result(False, None))
        for text in warnings:
            self.warn(text)

        self.client = self._get_client()
        info = swarm_manager_info(self.client)
        self.local_node_id = info["Swarm"].get("NodeID")
        self.local_hostname = info.get("Name")

        networks = list_networks(self.client)
        overlays, others = find_network(networks, name)
        if others:
            described = ", ".join("%s (driver %s, scope %s)" % (_short(n.get("Id")), n.get("Driver"), n.get("Scope")) for n in others)
            if present:
                self.fail("name: %s is already taken on %s by another kind of network: %s. Choose another name, or remove "
                          "that network first (docker network rm %s). Nothing was changed." % (name, self.local_hostname, described, name))
            if not overlays:
                self.warn("%s is not a swarm overlay network but %s; left alone" % (name, described))
        if len(overlays) > 1:
            self.fail("Several swarm overlay networks are named %s (%s); remove the extra ones by ID. Nothing was changed."
                      % (name, ", ".join(_short(n.get("Id")) for n in overlays)))
        inspect = inspect_network(self.client, overlays[0]["Id"]) if overlays else None
        self.inspect = inspect
        actual = normalise_actual(inspect)

        if present:
            self.differences = compare(declared, actual) if actual is not None else []
            action = decide_action("present", actual, self.differences)
            desired = desired_state(declared, actual)
            self.diff = {"before": _public(actual), "after": _public(desired) if action != "none" else _public(actual)}
        else:
            action = decide_action("absent", actual, [])
            desired = None
            self.diff = {"before": _public(actual), "after": {}}

        # Listed on every run: a service an earlier run left off the network is found by its label.
        services = list_services(self.client)
        if action == "none":
            return self._finish_pending_reattach(inspect, actual, services)
        if action == "remove":
            return self._remove(inspect, actual, services)
        return self._create_or_recreate(action, inspect, actual, desired, networks, services)

    # -- state: absent --------------------------------------------------------

    def _remove(self, inspect, actual, services):
        name = actual["name"]
        users = services_using_network(services, actual["id"], name)
        containers = standalone_containers(self.client, inspect, self.local_node_id, self.local_hostname)
        publishers = ingress_publishers(services) if actual["ingress"] else []
        if publishers:
            self.fail("Network %s is the swarm's ingress network, and Docker will not remove it while services publish ports in ingress mode: %s. "
                      "Remove those published ports or publish them with mode host, then rerun. Nothing was changed."
                      % (name, _describe_publishers(publishers)))
        if (users or containers) and not self.params["detach_services"]:
            self.fail("Network %s is in use by %s. Set detach_services: true to take them off it before removing it%s. Nothing was changed."
                      % (name, _describe_users(users, containers), _remote_hint(name, containers)))
        self._refuse_remote(name, containers)

        detached = []
        disconnected = []
        try:
            self._detach_all(actual, users, containers, detached, disconnected)
            self.actions.append("remove network %s (%s)" % (name, _short(actual["id"])))
            if not self.check_mode:
                self._remove_and_wait(actual)
        except OverlayNetworkFailure as exc:
            left_off = self._rollback_attachments(detached, disconnected, actual["id"])
            put_back = " Services and containers taken off %s were put back." % name if (detached or disconnected) else ""
            if left_off:
                put_back = " Could NOT put these back on %s: %s; attach them by hand." % (name, "; ".join(left_off))
            raise OverlayNetworkFailure("%s.%s" % (exc.msg, put_back), **self._result(bool(detached or disconnected), inspect))
        return self._result(True, None)

    # -- state: present -------------------------------------------------------

    def _create_or_recreate(self, action, inspect, actual, desired, networks, services):
        name = desired["name"]
        to_skip = set()
        if actual is not None:
            to_skip.add(actual["id"])

        # Only one ingress network per swarm: a new one replaces the current one.
        old_ingress = None
        if desired["ingress"]:
            old = [n for n in networks if n.get("Ingress") and (actual is None or n.get("Id") != actual["id"])]
            if old:
                old_ingress = normalise_actual(inspect_network(self.client, old[0]["Id"]) or old[0])
                to_skip.add(old_ingress["id"])

        overlaps = subnet_overlaps(desired, networks, skip_ids=to_skip)
        if overlaps:
            self.fail("ipam_config: %s. Choose a subnet that no other network on %s uses. Nothing was changed." % (
                "; ".join("subnet %s overlaps %s of network %s (driver %s, scope %s)"
                          % (o["subnet"], o["other_subnet"], o["network"], o["driver"], o["scope"]) for o in overlaps),
                self.local_hostname))
        if not self.params.get("allow_underlay_overlap") and (actual is None or desired["ipam_config"] != actual["ipam_config"]):
            # Containers on such a network could no longer reach those hosts: the overlay's routes win inside them.
            underlay = underlay_overlaps(desired, swarm_node_addresses(self.client), read_routes())
            if underlay:
                self.fail("ipam_config: %s. Containers on %s could not reach those addresses. Choose a subnet outside the "
                          "nodes' own networks, or set allow_underlay_overlap: true if this is intended. Nothing was changed."
                          % ("; ".join(underlay), name))

        publishers = None
        if old_ingress is not None or (actual is not None and actual["ingress"]):
            publishers = ingress_publishers(services)
        if old_ingress is not None and publishers:
            self.fail("Making %s the ingress network means removing the current ingress network %s first, and Docker refuses that while "
                      "services publish ports in ingress mode: %s. Remove those published ports or publish them with mode host, then rerun. "
                      "Nothing was changed." % (name, old_ingress["name"], _describe_publishers(publishers)))

        users, containers, pending = [], [], []
        if action == "recreate":
            # Services an earlier run could not put back go on the new network too.
            pending = self._pending(actual, services)
            users = services_using_network(services, actual["id"], name)
            containers = standalone_containers(self.client, inspect, self.local_node_id, self.local_hostname)
            self._check_recreate_allowed(actual, users, containers, publishers if actual["ingress"] else [])

        detached = []
        disconnected = []
        removed = []
        new_id = None
        try:
            if action == "recreate":
                self._detach_all(actual, users, containers, detached, disconnected, remember=True)
                detached.extend((entry, entry["removed"]) for entry in pending)
                self.actions.append("remove network %s (%s)" % (name, _short(actual["id"])))
                if not self.check_mode:
                    self._remove_and_wait(actual)
                removed.append(actual)
            if old_ingress is not None:
                self.actions.append("remove ingress network %s (%s)" % (old_ingress["name"], _short(old_ingress["id"])))
                if not self.check_mode:
                    self._remove_and_wait(old_ingress)
                removed.append(old_ingress)
            self.actions.append("create network %s" % name)
            if not self.check_mode:
                # Until every detached service is back, the new network says which ones (a rerun finishes the job).
                labels = {PENDING_REATTACH_LABEL: encode_pending(
                    [dict(user, removed=removed) for user, removed in detached])} if detached else None
                new_id = create_network(self.client, desired, self.params["wait_timeout"], self.sleep, self.clock, labels,
                                        avoid_ids=[n["id"] for n in removed])
        except OverlayNetworkFailure as exc:
            changed = bool(removed or detached or disconnected)
            raise OverlayNetworkFailure(self._recover(exc.msg, actual, removed, detached, disconnected), **self._result(changed, inspect))

        self._reattach_all(name, detached, disconnected, new_id)
        network = inspect_network(self.client, new_id) if new_id else inspect
        return self._result(True, network)

    @staticmethod
    def _pending(actual, services):
        """Services earlier runs took off this network and could not put back: from the network's and the services' labels."""
        todo = pending_reattachments(actual.get("pending_reattach") or [], services, actual["id"], actual["name"])
        known = set(entry["id"] for entry in todo)
        todo.extend(e for e in services_detached_from(services, actual["id"], actual["name"]) if e["id"] not in known)
        return todo

    def _finish_pending_reattach(self, inspect, actual, services):
        """Put back services that an earlier recreate took off and could not reattach (label on the network)."""
        if actual is None:
            return self._result(False, inspect)
        todo = self._pending(actual, services)
        if not todo:
            return self._result(False, inspect)
        for entry in todo:
            self._touch_service(entry["name"])
        self.diff["after"] = dict(self.diff["after"], services_to_reattach=[e["name"] for e in todo])
        self.actions.append("finish a reattach left pending by an earlier run (label %s)" % PENDING_REATTACH_LABEL)
        self._reattach_all(actual["name"], [(entry, entry["removed"]) for entry in todo], [], actual["id"])
        return self._result(True, inspect_network(self.client, actual["id"]) if not self.check_mode else inspect)

    def _check_recreate_allowed(self, actual, users, containers, publishers):
        name = actual["name"]
        policy = self.params["recreate"]
        why = ("Network %s differs from the declaration: %s. Docker cannot change a network in place; it has to be removed and created again"
               % (name, format_differences(self.differences)))
        in_use = _describe_users(users, containers, publishers)
        if publishers:
            # No recreate policy helps: services cannot be detached from the routing mesh.
            self.fail("%s, and as the swarm's ingress network it cannot be removed while services publish ports in ingress mode: %s. "
                      "Remove those published ports or publish them with mode host, then rerun. Nothing was changed."
                      % (why, _describe_publishers(publishers)))
        if policy == "never":
            self.fail("%s%s. Set recreate: %s to let this module do that%s. Nothing was changed."
                      % (why, (", and it is in use by %s" % in_use) if in_use else "", "always_detach" if in_use else "when_unused",
                         _remote_hint(name, containers)))
        if in_use and policy == "when_unused":
            self.fail("%s, but it is in use by %s. Set recreate: always_detach to detach them, recreate it and reattach them. "
                      "Nothing was changed." % (why, in_use))
        self._refuse_remote(name, containers)

    def _refuse_remote(self, name, containers):
        remote = [c for c in containers if not c["local"]]
        if remote:
            self.fail("Network %s has standalone containers on other nodes, which this module cannot reach from %s: %s. Disconnect them there "
                      "(docker network disconnect %s CONTAINER) and rerun. Nothing was changed."
                      % (name, self.local_hostname, ", ".join("%s on %s" % (c["name"], c["node"]) for c in remote), name))

    # -- steps ----------------------------------------------------------------

    def _detach_all(self, actual, users, containers, detached, disconnected, remember=False):
        name = actual["name"]
        for user in users:
            self.actions.append("detach service %s from %s" % (user["name"], name))
            self._touch_service(user["name"])
            if self.check_mode:
                removed, digest = user["removed"], None
            else:
                removed, digest = detach_service(self.client, user, actual["id"], name, remember)
            detached.append((dict(user, spec=digest), removed))
        for container in containers:
            self.actions.append("disconnect container %s from %s" % (container["name"], name))
            self._touch_container(container["name"])
            if not self.check_mode:
                disconnect_container(self.client, container, actual["id"])
            disconnected.append(container)

    def _reattach_all(self, name, detached, disconnected, network_id):
        """Put every service and container back; try them all, then fail naming each one left off."""
        failures = []
        for user, removed in detached:
            self.actions.append("reattach service %s to %s" % (user["name"], name))
            if self.check_mode:
                continue
            try:
                for text in reattach_service(self.client, user, removed, network_id):
                    self.warn("service %s: %s" % (user["name"], text))
            except OverlayNetworkFailure as exc:
                self.actions[-1] += " (failed)"
                self.services_detached.append(user["name"])
                failures.append("service %s: %s" % (user["name"], exc.msg))
        subnets = None
        if disconnected and not self.check_mode:
            try:
                created = normalise_actual(inspect_network(self.client, network_id)) or {}
                subnets = [pool["subnet"] for pool in created.get("ipam_config") or [] if pool.get("subnet")]
            except OverlayNetworkFailure:
                subnets = None  # reconnect then keeps the old addresses; the engine says if they do not fit
        for container in disconnected:
            self.actions.append("reconnect container %s to %s" % (container["name"], name))
            if self.check_mode:
                continue
            try:
                reconnect_container(self.client, container, network_id, subnets, self.warn)
            except OverlayNetworkFailure as exc:
                self.actions[-1] += " (failed)"
                failures.append("container %s: %s" % (container["name"], exc.msg))
        if failures:
            hints = []
            if self.services_detached:
                hints.append("Services left off the network: %s. Run the task again: network %s carries the label %s, "
                             "and the next run puts them back (or attach them yourself: docker service update "
                             "--network-add %s SERVICE)" % (", ".join(self.services_detached), name, PENDING_REATTACH_LABEL, name))
            if len(failures) > len(self.services_detached):
                hints.append("Containers left off the network must be reconnected by hand: docker network connect %s CONTAINER" % name)
            try:
                network = inspect_network(self.client, network_id) if network_id else None
            except OverlayNetworkFailure:
                network = None
            raise OverlayNetworkFailure(
                "Network %s was changed, but putting its users back failed: %s. %s"
                % (name, "; ".join(failures), " ".join(hints)), **self._result(True, network))

    def _remove_and_wait(self, normalised):
        if not remove_network(self.client, normalised["id"], self.params["wait_timeout"], self.sleep, self.clock):
            self.warn("network %s (%s) was removed but %s still showed it after %ss"
                      % (normalised["name"], _short(normalised["id"]), self.local_hostname, self.params["wait_timeout"]))

    def _rollback_attachments(self, detached, disconnected, network_id):
        """Put users back on the old network after a failure; return what could not be put back."""
        left_off = []
        if self.check_mode:
            return left_off
        for user, removed in detached:
            try:
                reattach_service(self.client, user, removed, network_id)
            except OverlayNetworkFailure as exc:
                self.services_detached.append(user["name"])
                left_off.append("service %s (%s)" % (user["name"], exc.msg))
        for container in disconnected:
            try:
                reconnect_container(self.client, container, network_id, warn=self.warn)
            except OverlayNetworkFailure as exc:
                left_off.append("container %s (%s)" % (container["name"], exc.msg))
        return left_off

    def _recover(self, msg, actual, removed, detached, disconnected):
        """After a failed step: recreate what was removed, put users back; return the message."""
        if self.check_mode:
            return msg
        notes = []
        restored_id = actual["id"] if actual is not None and actual not in removed else None
        for network in reversed(removed):
            try:
                new_id = create_network(self.client, desired_state({}, network), self.params["wait_timeout"], self.sleep, self.clock,
                                        avoid_ids=[n["id"] for n in removed])
                notes.append("recreated %s as it was" % network["name"])
                if actual is not None and network is actual:
                    restored_id = new_id
            except OverlayNetworkFailure as exc:
                notes.append("could not recreate %s as it was (%s)" % (network["name"], exc.msg))
        if restored_id is not None and (detached or disconnected):
            left_off = self._rollback_attachments(detached, disconnected, restored_id)
            if left_off:
                notes.append("could NOT put these back on it: %s. Run the task again once the engine answers (services carry the "
                             "label %s and the rerun puts them back), or attach them by hand (docker service update --network-add "
                             "NETWORK SERVICE, docker network connect NETWORK CONTAINER)" % ("; ".join(left_off), DETACHED_FROM_LABEL))
            else:
                notes.append("put services/containers back on it")
        elif detached or disconnected:
            self.services_detached.extend(u["name"] for u, _r in detached)
            notes.append("services %s and containers %s are detached. Run the task again once the engine answers (a network created "
                         "by this run lists the services in its label %s and the rerun puts them back), or attach them by hand: "
                         "docker service update --network-add NETWORK SERVICE / docker network connect NETWORK CONTAINER"
                         % (", ".join(u["name"] for u, _r in detached) or "-", ", ".join(c["name"] for c in disconnected) or "-",
                            PENDING_REATTACH_LABEL))
        return "%s. %s" % (msg, "; ".join(notes) if notes else "Nothing had been changed yet.")

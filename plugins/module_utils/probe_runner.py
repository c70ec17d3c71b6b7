# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Docker-touching half of service_endpoint_probe.

It gathers facts about the service, its tasks and the network from the
engine of the node the module runs on, then runs probe_script.py
inside the overlay network: in a short-lived container (attachable network)
or by exec in a running task container on this node. Everything it creates
is removed again, also when the probe fails; a run that was killed before it
could remove its container leaves it to the next run, which sweeps labelled
probe containers past their expiry.
"""

import calendar
import inspect
import json
import os
import time
import uuid

from ansible_collections.swarmnet.overlay.plugins.module_utils.docker_client import (
    DockerException,
    RequestException,
    NotFound,
    api_error_text,
)
from ansible_collections.swarmnet.overlay.plugins.module_utils import probe_script
from ansible_collections.swarmnet.overlay.plugins.module_utils.endpoint_probe import (
    ProbeError,
    is_ipv4,
    parse_probe_output,
)

# /proc/net/ip_vs exists in every network namespace once the ip_vs module is
# loaded; /sys/module/ip_vs exists when it is loaded or built in.
IPVS_PATHS = ("/proc/net/ip_vs", "/sys/module/ip_vs")

PROBE_LABEL = "swarmnet.overlay.probe"
# Epoch second after which a probe container is a leftover that any run may remove.
PROBE_EXPIRES_LABEL = "swarmnet.overlay.probe.expires"
# The probe is one Python process with a few sockets: these bounds are generous
# and keep a runaway probe from hurting the node's services.
PROBE_MEMORY_LIMIT = "128m"
PROBE_PIDS_LIMIT = 64
SERVICE_LABEL = "com.docker.swarm.service.name"


def ipvs_status(paths=IPVS_PATHS):
    """Whether the kernel of this node has IPVS (the module runs on the node)."""
    return {"present": any(os.path.exists(path) for path in paths), "checked": list(paths)}


def probe_budget(requests, request_timeout):
    """Seconds the probe may take: container start, two lookups, sequential requests."""
    return int(25 + requests * (request_timeout + 1))


def _addr(cidr):
    return cidr.split("/")[0] if cidr else None


def node_identity(client):
    """{id, name, address, manager} of the node whose engine we talk to."""
    info = client.info()
    swarm = info.get("Swarm") or {}
    if swarm.get("LocalNodeState") != "active":
        raise ProbeError("node %s is not part of an active swarm (state: %s)" % (info.get("Name"), swarm.get("LocalNodeState")))
    return {
        "id": swarm.get("NodeID"),
        "name": info.get("Name"),
        "address": swarm.get("NodeAddr"),
        "manager": bool(swarm.get("ControlAvailable")),
    }


def _inspect_network(client, network, verbose=False):
    try:
        return client.api.inspect_network(network, verbose=verbose or None)
    except NotFound:
        raise ProbeError("network %s not found on this node (a worker only sees overlay networks its containers use; "
                         "run the probe on a manager)" % network)
    except (DockerException, RequestException) as exc:
        raise ProbeError("cannot inspect network %s: %s" % (network, api_error_text(exc)))


def _manager_facts(client, service, net, port):
    """Service, VIP, networks and tasks from the swarm API (managers only)."""
    try:
        svc = client.api.inspect_service(service)
    except NotFound:
        raise ProbeError("service %s not found (docker service ls)" % service)
    except (DockerException, RequestException) as exc:
        raise ProbeError("cannot inspect service %s: %s" % (service, api_error_text(exc)))
    spec = svc.get("Spec") or {}
    endpoint = svc.get("Endpoint") or {}

    network_ids = []
    for attachment in ((spec.get("TaskTemplate") or {}).get("Networks") or []) + (spec.get("Networks") or []):
        network_ids.append(attachment.get("Target"))
    vip = None
    for entry in endpoint.get("VirtualIPs") or []:
        network_ids.append(entry.get("NetworkID"))
        if entry.get("NetworkID") == net["Id"]:
            vip = _addr(entry.get("Addr"))
    names = []
    for net_id in network_ids:
        if not net_id:
            continue
        try:
            label = client.api.inspect_network(net_id).get("Name") or net_id
        except (DockerException, RequestException):
            label = net_id
        if label not in names:
            names.append(label)

    published = None
    for entry in endpoint.get("Ports") or []:
        if entry.get("TargetPort") == port and entry.get("Protocol", "tcp") == "tcp" and entry.get("PublishedPort"):
            published = entry["PublishedPort"]

    nodes = {}
    for node in client.api.nodes():
        nodes[node["ID"]] = (node.get("Description") or {}).get("Hostname") or node["ID"]
    tasks = []
    for task in client.api.tasks(filters={"service": svc["ID"], "desired-state": "running"}):
        if (task.get("Status") or {}).get("State") != "running":
            continue
        address = None
        for attachment in task.get("NetworksAttachments") or []:
            if (attachment.get("Network") or {}).get("ID") == net["Id"] and attachment.get("Addresses"):
                address = _addr(attachment["Addresses"][0])
        tasks.append({"id": task["ID"], "node_id": task.get("NodeID"), "node": nodes.get(task.get("NodeID"), task.get("NodeID")),
                      "address": address})
    return {
        "id": svc["ID"],
        "name": spec.get("Name") or service,
        "endpoint_mode": (spec.get("EndpointSpec") or {}).get("Mode") or "vip",
        "vip": vip,
        "networks": names,
        "published_port": published,
    }, tasks


def _worker_facts(service, net, node):
    """What a worker knows: the network's service table (verbose inspect, gossip data).

    Tasks are known by the address of their node only (the peer names are
    random networkdb names, not host names).
    """
    entry = (net.get("Services") or {}).get(service)
    tasks = []
    if entry:
        for task in entry.get("Tasks") or []:
            host = (task.get("Info") or {}).get("Host IP")
            label = node["name"] if host and host == node["address"] else "node %s" % host
            tasks.append({"id": task.get("Name"), "node_id": host, "node": label, "address": task.get("EndpointIP")})
    # dnsrr services have no VIP: the engine prints a nil IP as "<nil>".
    vip = (entry or {}).get("VIP")
    vip = vip if is_ipv4(vip) else None
    return {
        "id": None,
        "name": service,
        "endpoint_mode": None if not entry else ("vip" if vip else "dnsrr"),
        "vip": vip,
        "networks": None,  # unknown on a worker
        "published_port": None,
    }, tasks


def gather_context(client, service, network, port, path="/", node_addresses=None, published_port=None):
    """The context dict of endpoint_probe (see its docstring) for this node."""
    node = node_identity(client)
    net = _inspect_network(client, network, verbose=not node["manager"])
    if net.get("Driver") != "overlay":
        raise ProbeError("network %s is a %s network, not an overlay network" % (network, net.get("Driver")))
    if node["manager"]:
        svc, tasks = _manager_facts(client, service, net, port)
        probe_node = {"id": node["id"], "name": node["name"]}
    else:
        svc, tasks = _worker_facts(service, net, node)
        # The worker's task table names nodes by address: compare by address.
        probe_node = {"id": node["address"], "name": node["name"]}
    if published_port:
        svc["published_port"] = published_port
    return {
        "probe_node": probe_node,
        "manager": node["manager"],
        "network": {"id": net["Id"], "name": net.get("Name") or network, "attachable": bool(net.get("Attachable")),
                    "ingress": bool(net.get("Ingress"))},
        "service": svc,
        "tasks": tasks,
        "ipvs": ipvs_status(),
        "port": port,
        "path": path,
        "node_addresses": list(node_addresses or []),
    }


def find_task_container(client, service, network):
    """A running container of a task of `service` on this node attached to `network`, or None."""
    try:
        containers = client.containers.list(filters={"label": "%s=%s" % (SERVICE_LABEL, service), "status": "running"})
    except (DockerException, RequestException) as exc:
        raise ProbeError("cannot list containers: %s" % api_error_text(exc))
    for container in containers:
        attached = (container.attrs.get("NetworkSettings") or {}).get("Networks") or {}
        for name, settings in attached.items():
            if name == network["name"] or (settings or {}).get("NetworkID") == network["id"]:
                return container
    return None


def probe_source():
    """The source of probe_script.py, read from wherever the module runs.

    Importing probe_script makes AnsiballZ ship the file with the module; its
    loader (a zip archive on the node) still has the source text.
    """
    return inspect.getsource(probe_script)


def _command(spec):
    return ["python3", "-c", probe_source(), json.dumps(spec, sort_keys=True)]


def _created_epoch(created):
    """Epoch seconds of an engine timestamp such as 2026-11-29T23:30:01.123456789Z, or None."""
    try:
        return calendar.timegm(time.strptime(str(created)[:19], "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return None


def sweep_leftover_probes(client, max_age):
    """Remove probe containers whose run is over (killed before it could clean up); return their names.

    A container is a leftover once the time in its expiry label has passed
    (or, without that label, once it is older than ``max_age`` seconds); a
    probe of a run still in progress is left alone.
    """
    now = time.time()
    swept = []
    try:
        leftovers = client.containers.list(all=True, filters={"label": PROBE_LABEL})
    except (DockerException, RequestException) as exc:
        raise ProbeError("cannot list leftover probe containers (label %s): %s" % (PROBE_LABEL, api_error_text(exc)))
    for container in leftovers:
        labels = ((container.attrs.get("Config") or {}).get("Labels")) or {}
        expires = labels.get(PROBE_EXPIRES_LABEL, "")
        if expires.isdigit():
            over = int(expires) < now
        else:
            created = _created_epoch(container.attrs.get("Created"))
            over = created is not None and created + max_age < now
        if not over:
            continue
        try:
            container.remove(force=True)
        except NotFound:
            pass  # removed meanwhile (auto-removal or another run)
        except (DockerException, RequestException) as exc:
            raise ProbeError("cannot remove the leftover probe container %s: %s; remove it with `docker rm -f %s`"
                             % (container.name, api_error_text(exc), container.name))
        swept.append(container.name)
    return swept


def run_in_container(client, image, network, spec, budget):
    """Run the probe in a new container on the (attachable) network; always remove it.

    No auto_remove: the output is read from the container's logs after it
    exits, which an auto-removed container would no longer have. A run killed
    before its ``finally`` leaves the container to the next run's sweep.
    """
    try:
        client.images.get(image)
    except NotFound:
        raise ProbeError("probe_image %s is not present on this node (nothing is pulled): build or load it first" % image)
    sweep_leftover_probes(client, budget)
    container = None
    try:
        try:
            container = client.containers.create(
                image,
                entrypoint=_command(spec),
                network=network["id"],
                name="swarmnet-probe-%s" % uuid.uuid4().hex[:10],
                labels={PROBE_LABEL: "true", PROBE_EXPIRES_LABEL: str(int(time.time()) + int(budget))},
                mem_limit=PROBE_MEMORY_LIMIT,
                pids_limit=PROBE_PIDS_LIMIT,
            )
            container.start()
        except (DockerException, RequestException) as exc:
            raise ProbeError("cannot start the probe container from %s on network %s: %s"
                             % (image, network["name"], api_error_text(exc)))
        try:
            status = container.wait(timeout=budget)
        except (DockerException, RequestException) as exc:  # requests' ReadTimeout/ConnectionError: the SDK does not wrap them
            raise ProbeError("the probe container did not finish within %d s (%s: %s); it was removed. Raise the "
                             "module's timeout or lower requests/request_timeout" % (budget, type(exc).__name__, exc))
        try:
            stdout = container.logs(stdout=True, stderr=False)
            stderr = container.logs(stdout=False, stderr=True)
        except (DockerException, RequestException) as exc:
            raise ProbeError("cannot read the probe container's output: %s" % api_error_text(exc))
        return parse_probe_output(stdout, stderr, status.get("StatusCode"))
    finally:
        if container is not None:
            try:
                container.remove(force=True)
            except NotFound:
                pass
            except (DockerException, RequestException):
                pass  # the next run's sweep removes it (it carries the expiry label)


def run_in_task(container, spec):
    """Run the probe by exec in an existing task container (needs python3 in its image)."""
    try:
        result = container.exec_run(_command(spec), demux=True)
    except (DockerException, RequestException) as exc:
        raise ProbeError("cannot exec the probe in container %s: %s" % (container.name, api_error_text(exc)))
    stdout, stderr = result.output if isinstance(result.output, tuple) else (result.output, b"")
    if result.exit_code in (126, 127):
        raise ProbeError("container %s cannot run python3 (exit code %d): its image needs python3 for an exec probe; "
                         "use probe_image on an attachable network instead" % (container.name, result.exit_code))
    return parse_probe_output(stdout or b"", stderr or b"", result.exit_code)


def run_probe(client, context, spec, budget, probe_image=None, exec_in_service=None):
    """Run the probe the best way this node allows; return (method, where, raw).

    exec_in_service wins when given; else a new container when the network is
    attachable and probe_image is given; else exec in a task of the probed
    service itself on this node.
    """
    network = context["network"]
    if not exec_in_service and probe_image and network["attachable"]:
        return "container", probe_image, run_in_container(client, probe_image, network, spec, budget)
    service = exec_in_service or context["service"]["name"]
    container = find_task_container(client, service, network)
    if container is None:
        why = []
        if probe_image and not network["attachable"]:
            why.append("network %s is not attachable, so probe_image cannot join it" % network["name"])
        elif not probe_image and not exec_in_service:
            why.append("no probe_image was given")
        why.append("no running task of service %s on node %s is attached to %s"
                   % (service, context["probe_node"]["name"], network["name"]))
        raise ProbeError("cannot probe from inside network %s: %s" % (network["name"], "; ".join(why)))
    return "exec", container.name, run_in_task(container, spec)

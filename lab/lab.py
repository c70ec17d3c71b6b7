"""The local swarm lab: several swarm nodes on one machine.

Each node is a container on the local Docker engine that runs systemd as PID 1
and its own dockerd (Docker-in-Docker), with two NICs as on the usual cloud or
Vagrant host: eth0 on the lab's bridge network (default route, this machine is
its gateway) and eth1 on a private network of its own (``<name>-private``, no
gateway), each with a fixed address per node. The swarm runs on eth1: the
inventory says ``swarm_advertise_addr: eth1`` and nothing else about addresses,
so the collection must find each node's cluster address itself. The lab writes an Ansible inventory with the groups
``swarm_managers`` and ``swarm_workers`` (children of ``swarm``), so that the
collection's playbooks run on it exactly as on real hosts. Spare nodes (group
``swarm_spares``, outside ``swarm``) run an engine but are left out of the
swarm: tests join them by hand and runbooks add them as new nodes.

    python lab/lab.py up      [--managers 1] [--workers 2] [--spares 0] [--name swarmnet-lab]
                              [--subnet 192.168.213.0/24] [--private-subnet 192.168.223.0/24]
                              [--firewall NODE=ufw|firewalld ...]
    python lab/lab.py down    [--name swarmnet-lab]
    python lab/lab.py status  [--name swarmnet-lab]     JSON: nodes, addresses, peak memory

``--firewall worker1=firewalld`` switches that firewall on in a node (ufw
enabled with its default deny, firewalld started with its default zone), as
on a host that has it on: the firewall role has to detect it. Nodes not named
run neither (the image has both installed, switched off).

Everything the lab makes carries the label ``swarmnet.lab=<name>``; ``down``
removes exactly those containers, volumes and the network, nothing else.
Bringing it up again reuses the nodes that exist.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import docker
from docker.errors import NotFound

HERE = os.path.dirname(os.path.abspath(__file__))
STATE_DIR = os.path.join(HERE, ".state")
DEFAULT_NAME = "swarmnet-lab"
LABEL = "swarmnet.lab"

# --privileged fails on this kind of host (the bounding set lacks
# CAP_SYS_RESOURCE), so nodes get every capability by name except that one and
# those Engine 20.10 does not know (BPF, PERFMON, CHECKPOINT_RESTORE).
NODE_CAPABILITIES = [
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL",
    "SETGID", "SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE",
    "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
    "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
    "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
    "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE",
    "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ",
]


def log(msg):
    print("lab: %s" % msg, file=sys.stderr, flush=True)


def inventory_path(name):
    if name == DEFAULT_NAME:
        return os.path.join(STATE_DIR, "inventory.yml")
    return os.path.join(STATE_DIR, name, "inventory.yml")


def node_names(name, managers, workers, spares=0):
    return (["%s-manager%d" % (name, i) for i in range(1, managers + 1)],
            ["%s-worker%d" % (name, i) for i in range(1, workers + 1)],
            ["%s-spare%d" % (name, i) for i in range(1, spares + 1)])


def node_address(subnet, index):
    """Fixed address of the index-th node (0-based): .11, .12, ... in the /24."""
    prefix = subnet.split("/")[0].rsplit(".", 1)[0]
    return "%s.%d" % (prefix, 11 + index)


def default_private_subnet(subnet):
    """The private network next to the lab's: third octet + 10 (192.168.213.0/24 -> 192.168.223.0/24)."""
    octets = subnet.split("/")[0].split(".")
    octets[2] = str((int(octets[2]) + 10) % 256)
    return ".".join(octets[:3]) + ".0/24"


def private_network_name(name):
    return "%s-private" % name


def build_image():
    """Build (or reuse) the cached node image; returns its name."""
    out = subprocess.run(["bash", os.path.join(HERE, "build-node-image.sh")],
                         check=True, stdout=subprocess.PIPE, text=True)
    return out.stdout.strip().splitlines()[-1]


def ensure_network(client, name, subnet, internal=False):
    # Both of a lab's networks carry the lab's name as their label (see cmd_down).
    lab = name[:-len("-private")] if internal else name
    for net in client.networks.list(names=[name]):
        if net.name == name:
            if net.attrs.get("Labels", {}).get(LABEL) != lab:
                sys.exit("lab: a network named %s exists but was not made by the lab; "
                         "remove it or choose another --name" % name)
            return net
    gateway = subnet.split("/")[0].rsplit(".", 1)[0] + ".1"
    ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=subnet, gateway=gateway)])
    log("creating network %s (%s%s)" % (name, subnet, ", internal" if internal else ""))
    return client.networks.create(name, driver="bridge", ipam=ipam, internal=internal, labels={LABEL: lab})


def ensure_node(client, lab, node, address, private_address, image):
    try:
        container = client.containers.get(node)
        if container.labels.get(LABEL) != lab:
            sys.exit("lab: a container named %s exists but was not made by the lab" % node)
        if container.status != "running":
            log("starting existing node %s" % node)
            container.start()
        return False
    except NotFound:
        pass
    volume = "%s-docker" % node
    try:
        client.volumes.get(volume)
    except NotFound:
        client.volumes.create(volume, labels={LABEL: lab})
    # The node is its own (absent) DNS server. Names the swarm's embedded DNS
    # cannot answer, and the engine's attempts to pull images, then fail inside
    # the node instead of going to this machine's resolver or, as the engine
    # falls back to when it sees only a loopback resolver, to public servers.
    # Lab nodes need no outside names: their images are built locally.
    resolv_conf = os.path.join(STATE_DIR, lab, "resolv", "%s.conf" % node)
    os.makedirs(os.path.dirname(resolv_conf), exist_ok=True)
    with open(resolv_conf, "w") as handle:
        handle.write("# lab node %s: no outside DNS (see lab/lab.py)\nnameserver %s\noptions timeout:1 attempts:1\n"
                     % (node, address))
    api = client.api
    host_config = api.create_host_config(
        cap_add=NODE_CAPABILITIES,
        security_opt=["seccomp=unconfined", "apparmor=unconfined"],
        binds=["/sys/fs/cgroup:/sys/fs/cgroup:rw", "%s:/var/lib/docker" % volume,
               "%s:/etc/resolv.conf:ro" % resolv_conf],
        tmpfs={"/run": "", "/run/lock": "", "/tmp": ""},
    )
    # What the CLI calls --security-opt systempaths=unconfined and --cgroupns=host:
    # the nested dockerd writes sysctls under /proc/sys and manages cgroups.
    host_config["MaskedPaths"] = []
    host_config["ReadonlyPaths"] = []
    host_config["CgroupnsMode"] = "host"
    networking = api.create_networking_config({lab: api.create_endpoint_config(ipv4_address=address)})
    log("creating node %s at %s" % (node, address))
    created = api.create_container(
        image, name=node, hostname=node, detach=True,
        environment={"container": "docker"}, labels={LABEL: lab},
        stop_signal="SIGRTMIN+3", host_config=host_config, networking_config=networking,
    )
    # The second NIC: connected before the start so that it is eth1 from boot on.
    api.connect_container_to_network(created["Id"], private_network_name(lab), ipv4_address=private_address)
    api.start(created["Id"])
    return True


def switch_on_firewall(client, node, backend):
    """Turn on ufw or firewalld in a node, as on a host where it is on (its own defaults: deny inbound)."""
    commands = {
        "ufw": [["ufw", "--force", "enable"]],
        # As at boot (docker.service starts after firewalld.service): dockerd hooks into a
        # firewalld that runs when it starts, and restores its rules after firewalld reloads.
        "firewalld": [["systemctl", "enable", "--now", "firewalld"], ["systemctl", "restart", "docker"]],
    }[backend]
    container = client.containers.get(node)
    for command in commands:
        result = container.exec_run(command)
        if result.exit_code != 0:
            sys.exit("lab: %s in %s failed: %s" % (" ".join(command), node, result.output.decode(errors="replace")))
    log("%s is on in %s" % (backend, node))


def wait_for_engines(client, nodes, timeout=180):
    """Wait until every node's own dockerd answers."""
    deadline = time.time() + timeout
    pending = list(nodes)
    while pending:
        for node in list(pending):
            result = client.containers.get(node).exec_run(["docker", "info", "--format", "{{.ServerVersion}}"])
            if result.exit_code == 0:
                pending.remove(node)
        if not pending:
            break
        if time.time() > deadline:
            sys.exit("lab: the Docker engine inside %s did not start within %d s; "
                     "see: docker exec NODE journalctl -u docker" % (", ".join(pending), timeout))
        time.sleep(1)


def write_inventory(path, lab, managers, workers, spares):
    def hosts(names):
        return ["            %s:" % node for node in names]

    lines = [
        "# Written by lab/lab.py for the lab %r. Do not edit: rerun lab/lab.py up." % lab,
        "all:",
        "  vars:",
        "    # Lab nodes are containers on this machine: Ansible reaches them with",
        "    # docker exec, no SSH needed.",
        "    ansible_connection: community.docker.docker",
        "    ansible_python_interpreter: /usr/bin/python3",
        "    swarmnet_lab: %s" % lab,
        "    # The tutorial's spelling: an interface name as the advertise address.",
        "    # eth1 is the private NIC; the default route (eth0) is the wrong one.",
        "    swarm_advertise_addr: eth1",
        "  children:",
        "    swarm:",
        "      vars:",
        "        # The tutorial's custom overlay: docker network create -d overlay",
        "        #   --subnet 172.19.1.1/24 --gateway 172.19.1.1 --attachable helloNet",
        "        swarm_networks:",
        "          - name: helloNet",
        "            attachable: true",
        "            ipam_config:",
        "              - subnet: 172.19.1.0/24",
        "                gateway: 172.19.1.1",
        "      children:",
        "        swarm_managers:",
        "          hosts:",
    ] + hosts(managers) + [
    ]
    lines += ["        swarm_workers:"] + (["          hosts:"] + hosts(workers) if workers else ["          hosts: {}"])
    if spares:
        lines += ["    # Engines outside the swarm, for join tests and the add-a-node runbook.",
                  "    swarm_spares:", "      hosts:"] + [line[4:] for line in hosts(spares)]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write("\n".join(lines) + "\n")


def parse_firewalls(values, lab, wanted):
    """--firewall NODE=ufw|firewalld (NODE without the lab prefix) -> [(node, backend)]."""
    result = []
    for value in values or []:
        short, _sep, backend = value.partition("=")
        if backend not in ("ufw", "firewalld") or "%s-%s" % (lab, short) not in wanted:
            sys.exit("lab: --firewall %r: give NODE=ufw or NODE=firewalld with NODE one of %s"
                     % (value, ", ".join(n[len(lab) + 1:] for n in wanted)))
        result.append((short, backend))
    return result


def lab_containers(client, lab):
    return client.containers.list(all=True, filters={"label": "%s=%s" % (LABEL, lab)})


# Every node's systemd takes inotify instances of the host's user; with the
# common default of 128, nodes beyond about 20 exit at start (status 255, no log).
INOTIFY_SYSCTL = "/proc/sys/fs/inotify/max_user_instances"
INOTIFY_PER_NODE = 16


def ensure_inotify_instances(nodes):
    """Raise fs.inotify.max_user_instances for `nodes` nodes (as root), or stop before creating anything."""
    wanted = 128 + INOTIFY_PER_NODE * nodes
    try:
        with open(INOTIFY_SYSCTL) as handle:
            current = int(handle.read().strip())
    except (OSError, ValueError):
        return
    if current >= wanted:
        return
    try:
        with open(INOTIFY_SYSCTL, "w") as handle:
            handle.write("%d\n" % wanted)
        log("raised fs.inotify.max_user_instances from %d to %d for %d nodes" % (current, wanted, nodes))
    except OSError as exc:
        sys.exit("lab: %d nodes need fs.inotify.max_user_instances >= %d (it is %d) and it cannot be raised here (%s); "
                 "run as root: sysctl -w fs.inotify.max_user_instances=%d" % (nodes, wanted, current, exc, wanted))


def cmd_up(args):
    ensure_inotify_instances(args.managers + args.workers + args.spares)
    client = docker.from_env()
    image = args.image or build_image()
    managers, workers, spares = node_names(args.name, args.managers, args.workers, args.spares)
    wanted = managers + workers + spares
    firewalls = parse_firewalls(args.firewall, args.name, wanted)
    # Nodes of an earlier, larger lab of the same name would confuse the swarm role.
    for container in lab_containers(client, args.name):
        if container.name not in wanted:
            log("removing node %s (not in this lab's size)" % container.name)
            container.remove(force=True, v=False)
            _remove_volume(client, "%s-docker" % container.name)
    private_subnet = args.private_subnet or default_private_subnet(args.subnet)
    ensure_network(client, args.name, args.subnet)
    ensure_network(client, private_network_name(args.name), private_subnet, internal=True)
    created = []
    for index, node in enumerate(wanted):
        if ensure_node(client, args.name, node, node_address(args.subnet, index),
                       node_address(private_subnet, index), image):
            created.append(node)
    wait_for_engines(client, wanted)
    for short, backend in firewalls:
        node = "%s-%s" % (args.name, short)
        if node in created:
            switch_on_firewall(client, node, backend)
    wait_for_engines(client, wanted)
    path = args.inventory or inventory_path(args.name)
    write_inventory(path, args.name, managers, workers, spares)
    log("%d nodes up; inventory: %s" % (len(wanted), os.path.relpath(path)))
    print(path)


def _remove_volume(client, name):
    try:
        client.volumes.get(name).remove(force=True)
    except NotFound:
        pass


def cmd_down(args):
    client = docker.from_env()
    for container in lab_containers(client, args.name):
        log("removing node %s" % container.name)
        container.remove(force=True, v=False)
    for volume in client.volumes.list(filters={"label": "%s=%s" % (LABEL, args.name)}):
        volume.remove(force=True)
    for net in client.networks.list(names=[args.name, private_network_name(args.name)]):
        if net.name in (args.name, private_network_name(args.name)) and net.attrs.get("Labels", {}).get(LABEL) == args.name:
            log("removing network %s" % net.name)
            net.remove()
    path = args.inventory or inventory_path(args.name)
    if os.path.exists(path):
        os.remove(path)
    shutil.rmtree(os.path.join(STATE_DIR, args.name, "resolv"), ignore_errors=True)


def _peak_memory_bytes(container_id):
    """Peak memory of one node container (cgroup v1, then v2), or None."""
    for path in ("/sys/fs/cgroup/memory/docker/%s/memory.max_usage_in_bytes" % container_id,
                 "/sys/fs/cgroup/system.slice/docker-%s.scope/memory.peak" % container_id):
        try:
            with open(path) as handle:
                return int(handle.read().strip())
        except (OSError, ValueError):
            continue
    return None


def cmd_status(args):
    client = docker.from_env()
    nodes = []
    peak_total = 0
    for container in sorted(lab_containers(client, args.name), key=lambda c: c.name):
        networks = container.attrs["NetworkSettings"]["Networks"]
        peak = _peak_memory_bytes(container.id)
        peak_total += peak or 0
        nodes.append({"name": container.name, "status": container.status,
                      "address": networks.get(args.name, {}).get("IPAddress"),
                      "private_address": networks.get(private_network_name(args.name), {}).get("IPAddress"),
                      "peak_memory_bytes": peak})
    print(json.dumps({"lab": args.name, "nodes": nodes, "peak_memory_bytes": peak_total}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for command in ("up", "down", "status"):
        p = sub.add_parser(command)
        p.add_argument("--name", default=os.environ.get("SWARMNET_LAB_NAME", DEFAULT_NAME),
                       help="lab name: prefix of node names, name of its network")
        p.add_argument("--inventory", help="where the inventory is written (default lab/.state/...)")
        if command == "up":
            p.add_argument("--managers", type=int, default=int(os.environ.get("SWARMNET_LAB_MANAGERS", "1")))
            p.add_argument("--workers", type=int, default=int(os.environ.get("SWARMNET_LAB_WORKERS", "2")))
            p.add_argument("--spares", type=int, default=int(os.environ.get("SWARMNET_LAB_SPARES", "0")),
                           help="nodes with an engine that stay out of the swarm (group swarm_spares)")
            p.add_argument("--subnet", default=os.environ.get("SWARMNET_LAB_SUBNET", "192.168.213.0/24"),
                           help="the lab's bridge network, a /24 that this machine does not use")
            p.add_argument("--private-subnet", default=os.environ.get("SWARMNET_LAB_PRIVATE_SUBNET"),
                           help="the nodes' second NIC (eth1), where the swarm runs; default: the --subnet's "
                                "third octet + 10 (192.168.213.0/24 -> 192.168.223.0/24)")
            p.add_argument("--firewall", action="append",
                           default=os.environ.get("SWARMNET_LAB_FIREWALLS", "").split() or None,
                           help="NODE=ufw or NODE=firewalld (e.g. worker1=firewalld): switch that firewall on in the "
                                "node when it is created; repeatable (env SWARMNET_LAB_FIREWALLS, space-separated)")
            p.add_argument("--image", help="node image to use instead of building the cached one")
    args = parser.parse_args()
    if args.command == "up" and (args.managers < 1 or args.workers < 0 or args.spares < 0
                                 or args.managers + args.workers + args.spares > 200):
        parser.error("--managers must be >= 1, --workers and --spares >= 0 (at most 200 nodes)")
    {"up": cmd_up, "down": cmd_down, "status": cmd_status}[args.command](args)


if __name__ == "__main__":
    main()

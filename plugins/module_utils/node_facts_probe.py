# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read a node for node_facts: its engine, /proc, its interfaces and its firewall (looks at the node).

Only reads: no command run here changes anything. What the readings mean is
worked out in node_facts_plan.py (pure).
"""


import grp
import os
import pwd
import socket
import threading

from ansible_collections.swarmnet.overlay.plugins.module_utils import node_facts_plan as plan
from ansible_collections.swarmnet.overlay.plugins.module_utils.docker_client import (
    DOCKER_SDK_IMPORT_ERROR,
    HAS_DOCKER_SDK,
    DockerException,
)
from ansible_collections.swarmnet.overlay.plugins.module_utils.firewall_chains_host import firewall_boot_state
from ansible_collections.swarmnet.overlay.plugins.module_utils.node_addresses import node_interfaces

if HAS_DOCKER_SDK:
    import docker


def _read(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError):
        return ""


def engine_facts(module):
    """Engine, SDK and swarm state; an engine that does not answer is reported, not a failure."""
    sdk = dict(imports=HAS_DOCKER_SDK, version=getattr(docker, "__version__", None) if HAS_DOCKER_SDK else None,
               error=None if HAS_DOCKER_SDK else (DOCKER_SDK_IMPORT_ERROR or "").strip().splitlines()[-1:])
    if isinstance(sdk["error"], list):
        sdk["error"] = sdk["error"][0] if sdk["error"] else "cannot import docker"
    engine = dict(answers=False, version=None, api_version=None, error=None)
    swarm = plan.swarm_facts({})
    nodes = None
    if not HAS_DOCKER_SDK:
        engine["error"] = "not asked: the Docker SDK for Python does not import"
        return engine, sdk, swarm, nodes
    try:
        client = docker.DockerClient(base_url=module.params["docker_host"], timeout=module.params["timeout"], version="auto")
        version = client.version()
        info = client.info()
    except DockerException as exc:
        engine["error"] = str(exc)
        return engine, sdk, swarm, nodes
    engine.update(answers=True, version=version.get("Version"), api_version=version.get("ApiVersion"))
    swarm = plan.swarm_facts(info)
    if swarm["local_node_state"] == "active":
        swarm["managers_answering"], swarm["managers_silent"] = reach(plan.other_managers(swarm))
        swarm["cut_off"] = plan.cut_off(swarm)
    if swarm["control_available"] and not swarm["locked"]:
        try:
            nodes = plan.swarm_node_list(client.api.nodes())
        except DockerException as exc:
            swarm["nodes_error"] = str(exc)
    return engine, sdk, swarm, nodes


def reach(addresses, timeout=2.0):
    """Open a TCP connection to each 'host:port' at once: (answering addresses, [{addr, error}] of the others).

    A member that reaches none of the other managers is cut off from its swarm,
    whatever its own docker info says; the connections are closed at once.
    """
    errors = {}

    def connect(addr):
        host, port = addr.rsplit(":", 1)
        try:
            socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
        except (socket.error, ValueError) as exc:
            errors[addr] = str(exc) or exc.__class__.__name__

    threads = [threading.Thread(target=connect, args=(addr,)) for addr in addresses]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    answering = [addr for addr in addresses if addr not in errors]
    return answering, [dict(addr=addr, error=errors[addr]) for addr in addresses if addr in errors]


_PROCESS_NAMES = {}


def process_names():
    """{pid: name (/proc/PID/comm)} of the processes running on the node, read once per module run."""
    if not _PROCESS_NAMES:
        _PROCESS_NAMES.update((pid, _read("/proc/%s/comm" % pid).strip()) for pid in os.listdir("/proc") if pid.isdigit())
    return _PROCESS_NAMES


def sshd_ports():
    """TCP ports that sshd processes listen on, read from /proc (empty when no sshd runs)."""
    listening = []
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        listening += plan.parse_proc_net_tcp(_read(name))
    inodes = set()
    for pid in [pid for pid, name in process_names().items() if name == "sshd"]:
        fd_dir = "/proc/%s/fd" % pid
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(int(target[8:-1]))
    return plan.ports_of_sockets(listening, inodes)


def interfaces_and_default(module):
    """This node's interfaces (as node_addresses reads them) and the default-route interface."""
    ip_bin = module.get_bin_path("ip")
    interfaces = node_interfaces(run_command=module.run_command, ip_bin=ip_bin)
    return interfaces, plan.parse_default_route_interface(_read("/proc/net/route"))


# Where the firewall role records what ufw / firewalld had before it turned on default deny.
UFW_DEFAULT_DENY_RECORD = "/etc/ufw/swarmnet-default-deny.json"
FIREWALLD_DEFAULT_DENY_RECORD = "/etc/firewalld/swarmnet-default-deny.json"
# ufw's own files: whether it is enabled, and the rules it keeps.
UFW_CONF = "/etc/ufw/ufw.conf"
UFW_USER_RULES = "/etc/ufw/user.rules"
UFW_USER6_RULES = "/etc/ufw/user6.rules"
# The firewall role's ufw application profiles (read so that a converged node needs no write step for them).
UFW_APPLICATIONS = "/etc/ufw/applications.d/swarmnet"


def file_state(path):
    """A file's content, mode ("0644") and owner and group names, as the copy module sets them; None when missing."""
    try:
        with open(path) as handle:
            content = handle.read()
        status = os.stat(path)
    except (IOError, OSError):
        return None
    return dict(content=content, mode="%04o" % (status.st_mode & 0o7777),
                owner=_name_of(pwd.getpwuid, status.st_uid), group=_name_of(grp.getgrgid, status.st_gid))


def _name_of(lookup, number):
    """The user or group name of a uid or gid (the number as a string when it has no name)."""
    try:
        return lookup(number)[0]
    except KeyError:
        return str(number)


def firewall_facts(module, cluster_interface):
    """Which firewall is in charge and the state the firewall role compares against."""
    facts = dict(backend=None, ufw=dict(installed=False, active=False, default_incoming=None, rules=[]),
                 firewalld=dict(installed=False, running=False), iptables=dict(installed=False))
    facts["ufw"]["default_deny_record"] = plan.parse_default_deny_record(_read(UFW_DEFAULT_DENY_RECORD))
    facts["firewalld"]["default_deny_record"] = plan.parse_default_deny_record(_read(FIREWALLD_DEFAULT_DENY_RECORD))
    ufw = module.get_bin_path("ufw")
    if ufw:
        facts["ufw"]["installed"] = True
        facts["ufw"]["applications"] = file_state(UFW_APPLICATIONS)
        # ufw is a Python program: not started at all to learn what its config already says (ENABLED=no).
        if plan.ufw_enabled_in_conf(_read(UFW_CONF)) is not False:
            rc, out, _err = module.run_command([ufw, "status", "verbose"])
            if rc == 0:
                facts["ufw"].update(plan.parse_ufw_status(out))
        # The role's rules are read where ufw is on, or where its rule files hold one of them.
        if facts["ufw"]["active"] or plan.ufw_files_hold_our_rules(_read(UFW_USER_RULES) + _read(UFW_USER6_RULES)):
            rc, out, _err = module.run_command([ufw, "show", "added"])
            if rc == 0:
                facts["ufw"]["rules"] = plan.parse_ufw_added(out)
    firewall_cmd = module.get_bin_path("firewall-cmd")
    if firewall_cmd:
        facts["firewalld"]["installed"] = True
        # firewall-cmd (Python and D-Bus) is asked only when a firewalld process runs.
        if "firewalld" in process_names().values():
            rc, out, _err = module.run_command([firewall_cmd, "--state"])
            facts["firewalld"]["running"] = rc == 0 and out.strip() == "running"
    if facts["firewalld"]["running"]:
        _rc, default_zone, _err = module.run_command([firewall_cmd, "--get-default-zone"])
        zone = module.params["firewalld_zone"] or default_zone.strip()
        if cluster_interface and not module.params["firewalld_zone"]:
            rc, out, _err = module.run_command([firewall_cmd, "--get-zone-of-interface=%s" % cluster_interface])
            if rc == 0 and out.strip():
                zone = out.strip()
        facts["firewalld"].update(default_zone=default_zone.strip(), zone=zone)
        for key, args in (("runtime", []), ("permanent", ["--permanent"])):
            _rc, out, _err = module.run_command([firewall_cmd] + args + ["--info-zone=%s" % zone])
            facts["firewalld"][key] = plan.parse_firewalld_zone_info(out)
    iptables_save = module.get_bin_path("iptables-save")
    if iptables_save:
        facts["iptables"]["installed"] = True
        chain = module.params["iptables_chain"]
        published = module.params["iptables_published_chain"]
        rc, out, _err = module.run_command([iptables_save, "-t", "filter"])
        chains = plan.iptables_chains(out if rc == 0 else "")
        facts["iptables"].update(chain=chain, chain_rules=chains.get(chain))
        facts["iptables"].update(plan.parse_iptables_input("\n".join(chains.get("INPUT", [])), chain))
        facts["iptables"].update(published_chain=published, published_chain_rules=chains.get(published))
        facts["iptables"]["docker_user_jumps_first"] = plan.first_rule_jumps(
            "\n".join(chains.get("DOCKER-USER", [])), "DOCKER-USER", published)
    facts["boot"] = firewall_boot_state()
    facts["backend"] = plan.decide_backend(facts["ufw"]["active"], facts["firewalld"]["running"])
    return facts

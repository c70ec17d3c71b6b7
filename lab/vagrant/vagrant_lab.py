"""Swarm nodes as Vagrant VMs (lab/vagrant/Vagrantfile), for the Molecule scenario
``vagrant`` and by hand.

    .venv/bin/python lab/vagrant/vagrant_lab.py up     [--name swarmnet] [--managers 1] [--workers 2]
                                                       [--firewall NODE=ufw|firewalld ...]
    .venv/bin/python lab/vagrant/vagrant_lab.py down   [--name swarmnet]
    .venv/bin/python lab/vagrant/vagrant_lab.py status [--name swarmnet]    JSON: nodes, timings, memory

``up`` prepares the machine (setup-host.sh: vagrant, vagrant-libvirt, libvirt and QEMU
from Debian packages, daemons started without systemd), builds or reuses the offline
box (build-box.sh), boots the VMs one after the other (``vagrant up --no-parallel``),
and writes the Ansible inventory to ``lab/.state/vagrant/<name>/inventory.yml``:
groups ``swarm_managers`` and ``swarm_workers`` (children of ``swarm``), SSH as
``vagrant`` with the key Vagrant made for each VM, and ``swarm_advertise_addr: eth1``:
as on a real host, nothing tells the collection a node's address; it finds eth1's itself.
The inventory also declares the swarm's overlay networks (``swarm_networks``): helloNet
(attachable, as the node-container lab's) and swarmnetSecret (attachable, encrypted).

``--firewall worker1=firewalld`` (NODE without the lab prefix; or
SWARMNET_VAGRANT_FIREWALLS="manager1=ufw worker1=firewalld") switches that firewall on
in a VM as on a host that has it on: ufw enabled with its default deny inbound (and
SSH allowed, as any reachable host with ufw has it), firewalld started with its
default zone (which allows SSH), then the engine restarted (as at boot, where
docker.service starts after firewalld). The box has both installed and off; VMs not
named run plain iptables. The firewall role has to detect each.

While VMs exist, a sampler started by ``up`` records the peak memory of their QEMU
processes (sum of RSS) in the state directory; ``status`` and ``down`` report it.
``down`` destroys the VMs with their disks and removes the two libvirt networks
named after the lab (``<name>-private``, ``<name>-mgmt``) once no VM uses them.

The settings also come from the environment (SWARMNET_VAGRANT_NAME, _MANAGERS,
_WORKERS, _NET, _MGMT_NET, _PROVIDER, _BOX, _CPUS, _MEMORY, _ACCEL), as the
Vagrantfile reads them; options win over the environment.
"""

import argparse
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
STATE_ROOT = os.path.join(REPO, "lab", ".state", "vagrant")
OWN_BOX = "swarmnet/debian12"
VIRSH = ["virsh", "-c", "qemu:///system"]


def log(msg):
    print("vagrant-lab: %s" % msg, file=sys.stderr, flush=True)


def state_dir(name):
    return os.path.join(STATE_ROOT, name)


def settings(args):
    env = os.environ
    provider = env.get("SWARMNET_VAGRANT_PROVIDER", "libvirt")
    return {
        "name": args.name or env.get("SWARMNET_VAGRANT_NAME", "swarmnet"),
        "managers": args.managers if args.managers is not None else int(env.get("SWARMNET_VAGRANT_MANAGERS", "1")),
        "workers": args.workers if args.workers is not None else int(env.get("SWARMNET_VAGRANT_WORKERS", "2")),
        "net": env.get("SWARMNET_VAGRANT_NET", "192.168.56"),
        "mgmt_net": env.get("SWARMNET_VAGRANT_MGMT_NET", "192.168.121.0/24"),
        "provider": provider,
        "box": env.get("SWARMNET_VAGRANT_BOX", OWN_BOX if provider == "libvirt" else "debian/bookworm64"),
        "advertise": env.get("SWARMNET_VAGRANT_ADVERTISE", "eth1"),
        "firewalls": (args.firewall if args.firewall is not None
                      else env.get("SWARMNET_VAGRANT_FIREWALLS", "").split()),
    }


def vagrant_env(cfg):
    env = dict(os.environ)
    env.update({
        "VAGRANT_CWD": HERE,
        "VAGRANT_DOTFILE_PATH": os.path.join(state_dir(cfg["name"]), "dot-vagrant"),
        "SWARMNET_VAGRANT_NAME": cfg["name"],
        "SWARMNET_VAGRANT_MANAGERS": str(cfg["managers"]),
        "SWARMNET_VAGRANT_WORKERS": str(cfg["workers"]),
        "SWARMNET_VAGRANT_NET": cfg["net"],
        "SWARMNET_VAGRANT_MGMT_NET": cfg["mgmt_net"],
        "SWARMNET_VAGRANT_PROVIDER": cfg["provider"],
        "SWARMNET_VAGRANT_BOX": cfg["box"],
        "SWARMNET_VAGRANT_STATE": STATE_ROOT,
        "VAGRANT_CHECKPOINT_DISABLE": "1",
        "VAGRANT_NO_COLOR": "1",
    })
    return env


def vagrant(cfg, *args, capture=False, check=True):
    cmd = ["vagrant"] + list(args)
    if capture:
        return subprocess.run(cmd, env=vagrant_env(cfg), check=check, stdout=subprocess.PIPE, text=True).stdout
    # Vagrant's own output goes to stderr (stdout of this script stays for results),
    # without its progress meters (thousands of "Progress: N%" redraws).
    proc = subprocess.Popen(cmd, env=vagrant_env(cfg), stdout=subprocess.PIPE, text=True, errors="replace")
    for line in proc.stdout:
        text = re.sub(r"(\x1b\[K)?Progress: [^\r\n\x1b]*", "", line.replace("\r", ""))
        text = text.replace("\x1b[K", "")
        if text.strip():
            sys.stderr.write(text)
    proc.wait()
    if check and proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, cmd)
    return proc


def node_names(cfg):
    return (["%s-manager%d" % (cfg["name"], i) for i in range(1, cfg["managers"] + 1)],
            ["%s-worker%d" % (cfg["name"], i) for i in range(1, cfg["workers"] + 1)])


def node_address(cfg, index):
    return "%s.%d" % (cfg["net"], 11 + index)


# ---------------------------------------------------------------- memory sampler

def qemu_rss_kib(name=None):
    """Sum of VmRSS of the QEMU processes (of this lab's VMs, when name is given)."""
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as handle:
                argv = handle.read().split(b"\0")
            if not argv or not os.path.basename(argv[0]).startswith(b"qemu-system"):
                continue
            if name and not any(re.match(rb"guest=%s-(manager|worker)\d+(,|$)" % re.escape(name.encode()), a)
                                for a in argv):
                continue
            with open("/proc/%s/status" % pid) as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except (OSError, ValueError):
            continue
    return total


def sample(name, interval=2.0, limit=4 * 3600):
    """Run in the background: keep the peak QEMU RSS of this lab in memory.json."""
    path = os.path.join(state_dir(name), "memory.json")
    started = time.time()
    peak = {"peak_qemu_rss_mib": 0, "at": None, "samples": 0}
    while time.time() - started < limit and os.path.exists(os.path.join(state_dir(name), "sampler.pid")):
        rss = qemu_rss_kib(name) // 1024
        peak["samples"] += 1
        if rss > peak["peak_qemu_rss_mib"]:
            peak.update(peak_qemu_rss_mib=rss, at=time.strftime("%H:%M:%S"))
        tmp = path + ".tmp"
        with open(tmp, "w") as handle:
            json.dump(peak, handle)
        os.replace(tmp, path)
        time.sleep(interval)


def start_sampler(name):
    pidfile = os.path.join(state_dir(name), "sampler.pid")
    if os.path.exists(pidfile):
        try:
            os.kill(int(open(pidfile).read()), 0)
            return
        except (OSError, ValueError):
            pass
    # Placeholder first: the sampler runs while this file exists.
    with open(pidfile, "w") as handle:
        handle.write("0")
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "_sample", "--name", name],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    with open(pidfile, "w") as handle:
        handle.write(str(proc.pid))


def stop_sampler(name):
    pidfile = os.path.join(state_dir(name), "sampler.pid")
    try:
        pid = int(open(pidfile).read())
    except (OSError, ValueError):
        return
    os.unlink(pidfile)
    if pid > 0:
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass


def read_json(path, default=None):
    try:
        with open(path) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return default


# ---------------------------------------------------------------- inventory

def parse_ssh_config(text):
    hosts, current = {}, None
    for line in text.splitlines():
        words = line.strip().split(None, 1)
        if len(words) != 2:
            continue
        key, value = words
        if key == "Host":
            current = hosts.setdefault(value, {})
        elif current is not None:
            current[key] = value.strip('"')
    return hosts


def write_inventory(cfg):
    managers, workers = node_names(cfg)
    ssh = parse_ssh_config(vagrant(cfg, "ssh-config", capture=True))
    lines = ["# Written by lab/vagrant/vagrant_lab.py up: the Vagrant lab %s (%s)." % (cfg["name"], cfg["provider"]),
             "swarm:", "  children:"]
    for group, names in (("swarm_managers", managers), ("swarm_workers", workers)):
        lines += ["    %s:" % group, "      hosts:" if names else "      hosts: {}"]
        for node in names:
            entry = ssh[node]
            lines += [
                "        %s:" % node,
                "          ansible_host: %s" % entry["HostName"],
                "          ansible_port: %s" % entry.get("Port", "22"),
                "          ansible_user: %s" % entry.get("User", "vagrant"),
                "          ansible_ssh_private_key_file: %s" % entry["IdentityFile"],
            ]
    lines += [
        "  vars:",
        "    ansible_become: true",
        "    ansible_python_interpreter: /usr/bin/python3",
        "    ansible_ssh_common_args: >-",
        "      -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
        "      -o IdentitiesOnly=yes -o ServerAliveInterval=15",
        "    swarm_advertise_addr: %s" % cfg["advertise"],
        "    swarm_networks:",
        "      - name: helloNet",
        "        attachable: true",
        "        ipam_config:",
        "          - subnet: 172.19.1.0/24",
        "            gateway: 172.19.1.1",
        "      # IPsec between the nodes (ESP): the firewall role opens IP protocol 50 for it.",
        "      - name: swarmnetSecret",
        "        attachable: true",
        "        encrypted: true",
        "        ipam_config:",
        "          - subnet: 172.19.5.0/24",
        "            gateway: 172.19.5.1",
        "",
    ]
    path = os.path.join(state_dir(cfg["name"]), "inventory.yml")
    with open(path, "w") as handle:
        handle.write("\n".join(lines))
    return path


# ---------------------------------------------------------------- commands

# Each command runs only when that firewall is not on yet: a second `up` changes nothing.
FIREWALL_ON = {
    "ufw": "ufw status | grep -q '^Status: active' || { ufw allow 22/tcp && ufw --force enable; }",
    "firewalld": "systemctl is-active -q firewalld || "
                 "{ systemctl enable --now firewalld && systemctl restart docker; }",
}


def parse_firewalls(cfg):
    """["worker1=firewalld", ...] (NODE without the lab prefix) -> [(vm name, backend)]."""
    managers, workers = node_names(cfg)
    found = []
    for value in cfg["firewalls"]:
        short, _equals, backend = value.partition("=")
        vm = "%s-%s" % (cfg["name"], short)
        if backend not in FIREWALL_ON or vm not in managers + workers:
            sys.exit("vagrant-lab: --firewall %r: give NODE=ufw or NODE=firewalld with NODE one of %s"
                     % (value, ", ".join(n[len(cfg["name"]) + 1:] for n in managers + workers)))
        found.append((vm, backend))
    return found


def switch_on_firewalls(cfg, firewalls):
    ssh = parse_ssh_config(vagrant(cfg, "ssh-config", capture=True))
    for vm, backend in firewalls:
        entry = ssh[vm]
        subprocess.run(["ssh", "-i", entry["IdentityFile"], "-p", entry.get("Port", "22"),
                        "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                        "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR",
                        "%s@%s" % (entry.get("User", "vagrant"), entry["HostName"]),
                        "sudo sh -c %s" % shlex.quote(FIREWALL_ON[backend])],
                       check=True, stdin=subprocess.DEVNULL)
        log("%s is on in %s" % (backend, vm))


def run_script(script, env):
    out = subprocess.run(["bash", os.path.join(HERE, script)], env=env, check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    return out.strip().splitlines()[-1] if out.strip() else ""


def up(cfg):
    os.makedirs(state_dir(cfg["name"]), exist_ok=True)
    with open(os.path.join(state_dir(cfg["name"]), "settings.json"), "w") as handle:
        json.dump(cfg, handle)
    env = vagrant_env(cfg)
    timings = read_json(os.path.join(state_dir(cfg["name"]), "timings.json"), {})
    started = time.time()
    run_script("setup-host.sh", env)
    if cfg["provider"] == "libvirt" and cfg["box"] == OWN_BOX:
        run_script("build-box.sh", env)
    timings["host_and_box_s"] = round(time.time() - started)
    managers, workers = node_names(cfg)
    firewalls = parse_firewalls(cfg)
    status = vagrant(cfg, "status", "--machine-readable", capture=True)
    running = set(re.findall(r"^\d+,([^,]+),state,running$", status, re.M))
    missing = [n for n in managers + workers if n not in running]
    if cfg["provider"] == "libvirt":
        log("acceleration: %s" % run_script("probe-accel.sh", env))
    start_sampler(cfg["name"])
    if missing:
        log("booting %s, one after the other" % ", ".join(missing))
        booted = time.time()
        vagrant(cfg, "up", "--no-parallel", "--provider", cfg["provider"], *missing)
        timings["boot_s"] = round(time.time() - booted)
        timings["booted_nodes"] = len(missing)
        log("booted %d VM(s) in %d s" % (len(missing), timings["boot_s"]))
    switch_on_firewalls(cfg, firewalls)
    path = write_inventory(cfg)
    with open(os.path.join(state_dir(cfg["name"]), "timings.json"), "w") as handle:
        json.dump(timings, handle)
    log("inventory: %s" % path)
    print(path)


def libvirt_network_users(network):
    """Names of defined domains with an interface on this libvirt network."""
    users = []
    out = subprocess.run(VIRSH + ["list", "--all", "--name"], stdout=subprocess.PIPE, text=True, check=False).stdout
    for domain in out.split():
        xml = subprocess.run(VIRSH + ["dumpxml", domain], stdout=subprocess.PIPE, text=True, check=False).stdout
        if "network='%s'" % network in xml:
            users.append(domain)
    return users


def down(cfg):
    sdir = state_dir(cfg["name"])
    memory = read_json(os.path.join(sdir, "memory.json"), {})
    if os.path.isdir(os.path.join(sdir, "dot-vagrant")) and shutil.which("vagrant"):
        log("destroying the VMs of %s" % cfg["name"])
        # The node list must cover every VM this lab may have made: ask for the largest lab once.
        vagrant(cfg, "destroy", "--force", check=False)
    stop_sampler(cfg["name"])
    if cfg["provider"] == "libvirt" and shutil.which("virsh"):
        for network in ("%s-private" % cfg["name"], "%s-mgmt" % cfg["name"]):
            info = subprocess.run(VIRSH + ["net-info", network], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, check=False)
            if info.returncode != 0:
                continue
            users = libvirt_network_users(network)
            if users:
                log("keeping libvirt network %s: still used by %s" % (network, ", ".join(users)))
                continue
            log("removing libvirt network %s" % network)
            subprocess.run(VIRSH + ["net-destroy", network], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           check=False)
            subprocess.run(VIRSH + ["net-undefine", network], stdout=subprocess.DEVNULL, check=False)
        # Disks of this lab's VMs that a failed run may have left in the pool.
        vols = subprocess.run(VIRSH + ["vol-list", "default"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True, check=False).stdout
        for vol in re.findall(r"^\s*(%s-(?:manager|worker)\d+\S*\.img)\s" % re.escape(cfg["name"]), vols, re.M):
            log("removing leftover disk %s" % vol)
            subprocess.run(VIRSH + ["vol-delete", "--pool", "default", vol], stdout=subprocess.DEVNULL, check=False)
    if memory:
        log("peak memory of the VMs (QEMU RSS, summed): %s MiB" % memory.get("peak_qemu_rss_mib"))
    shutil.rmtree(sdir, ignore_errors=True)


def status(cfg):
    sdir = state_dir(cfg["name"])
    managers, workers = node_names(cfg)
    result = {
        "name": cfg["name"],
        "provider": cfg["provider"],
        "nodes": [{"name": n, "address": node_address(cfg, i), "role": "manager" if n in managers else "worker"}
                  for i, n in enumerate(managers + workers)],
        "inventory": os.path.join(sdir, "inventory.yml"),
        "timings": read_json(os.path.join(sdir, "timings.json"), {}),
        "memory": dict(read_json(os.path.join(sdir, "memory.json"), {}),
                       qemu_rss_mib_now=qemu_rss_kib(cfg["name"]) // 1024),
    }
    print(json.dumps(result, indent=2))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "down", "status", "_sample"])
    parser.add_argument("--name")
    parser.add_argument("--managers", type=int)
    parser.add_argument("--workers", type=int)
    parser.add_argument("--firewall", action="append",
                        help="NODE=ufw or NODE=firewalld (e.g. worker1=firewalld): switch that firewall on in the VM")
    args = parser.parse_args(argv)
    cfg = settings(args)
    saved = read_json(os.path.join(state_dir(cfg["name"]), "settings.json"), {})
    if args.command in ("down", "status") and saved:
        # What up made, not what the environment says now.
        cfg.update(saved)
    if args.command == "_sample":
        sample(cfg["name"])
    elif args.command == "up":
        up(cfg)
    elif args.command == "down":
        down(cfg)
    else:
        status(cfg)


if __name__ == "__main__":
    main()

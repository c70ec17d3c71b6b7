"""Helpers shared by the node-container scenarios' testinfra checks (lab, day2).

The verifier runs each scenario's tests once, on the first manager (hosts:
ansible://swarm_managers); other nodes are reached through the same inventory.
The inventory is the one lab/lab.py wrote for the lab named by
SWARMNET_LAB_NAME (Molecule's provisioner sets it), or SWARMNET_INVENTORY.
"""

import json
import os
import re
import socket
import subprocess
import time

import testinfra

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB_NAME = os.environ.get("SWARMNET_LAB_NAME", "swarmnet-molecule")
INVENTORY = os.environ.get("SWARMNET_INVENTORY", os.path.join(REPO, "lab", ".state", LAB_NAME, "inventory.yml"))


def node(name):
    """A testinfra host for another node of the lab."""
    return testinfra.get_host("ansible://%s" % name, ansible_inventory=INVENTORY)


def wait_for(probe, timeout=60, interval=2):
    """Poll probe() until it returns a truthy value; return the last value."""
    deadline = time.time() + timeout
    value = probe()
    while not value and time.time() < deadline:
        time.sleep(interval)
        value = probe()
    return value


def node_list(host):
    """The swarm's node list, one dict per `docker node ls` entry; [] while the managers elect a leader.

    During an election (a manager restarted, or a leader too slow to answer under load) the list fails
    with "rpc error: code = DeadlineExceeded"; [] lets wait_for ask again instead of failing the test.
    """
    listed = host.run("timeout 30 docker node ls --format '{{json .}}'")
    return [json.loads(line) for line in listed.stdout.splitlines()] if listed.rc == 0 else []


def answers_here(address, port, timeout=3):
    """Whether address:port accepts a TCP connection from this machine (the lab network's gateway)."""
    try:
        socket.create_connection((address, port), timeout).close()
        return True
    except OSError:
        return False


def docker_json(host, *args):
    return json.loads(host.check_output("docker " + " ".join(args)))


def _ansible_env(**extra):
    return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".collections"), **extra)


def run_module(hostname, module, args, check=False, env=None):
    """Run one module ad hoc on a lab node; return (failed, result).

    env: extra environment for ansible (a module run on localhost sees it).

    testinfra's host.ansible() cannot tell a failure here: ansible-core 2.21
    no longer writes "failed" into --tree files, so use the json callback.
    """
    env = _ansible_env(ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", **(env or {}))
    out = subprocess.run(["ansible", "-i", INVENTORY, hostname, "-m", module, "-a", json.dumps(args)] + (["--check"] if check else []),
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, check=False)
    result = json.loads(out.stdout)["plays"][0]["tasks"][0]["hosts"][hostname]
    return bool(result.get("failed")), result


def run_playbook(playbook, *args, **extra_vars):
    """Run one of the collection's playbooks on the lab; return (rc, output).

    The scenarios converge the lab with firewall_default_deny=true (and
    whatever else SWARMNET_LAB_EXTRA_VARS, JSON, gives), so every run here
    keeps it too. Extra positional arguments go to ansible-playbook.
    """
    running = start_playbook(playbook, *args, **extra_vars)
    out = running.communicate()[0]
    return running.returncode, out


def start_playbook(playbook, *args, **extra_vars):
    """run_playbook without waiting: the Popen (text stdout, stderr merged), for a test that acts while it runs."""
    extra = dict({"firewall_default_deny": True}, **json.loads(os.environ.get("SWARMNET_LAB_EXTRA_VARS") or "{}"))
    extra.update(extra_vars)
    env = _ansible_env(ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    return subprocess.Popen(["ansible-playbook", "-i", INVENTORY, "-e", json.dumps(extra), *args, os.path.join(REPO, playbook)],
                            env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def recap_by_host(output):
    """{host: "ok=... changed=... failed=..."} from the PLAY RECAP lines of an ansible-playbook run (colour
    stripped: Molecule's environment forces it, and ANSIBLE_FORCE_COLOR wins over ANSIBLE_NOCOLOR)."""
    return dict(re.findall(r"^(\S+)\s+: (ok=.*)$", re.sub(r"\x1b\[[0-9;]*m", "", output), re.M))


def recap_changed(output):
    """Total of changed= over the PLAY RECAP lines of an ansible-playbook run."""
    return sum(int(n) for n in re.findall(r"changed=(\d+)", output))

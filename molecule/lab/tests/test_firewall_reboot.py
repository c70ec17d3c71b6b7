"""The firewall survives a reboot. iptables rules live in the kernel only: before,
a rebooted iptables-backend node came back with INPUT's policy ACCEPT and no swarm
chain, and a firewalld or ufw node without its published-ports chain, until
site.yml ran again. Now swarmnet-firewall.service restores the role's chains at
boot, after firewalld or ufw and before the engine (which keeps DOCKER-USER).

A lab node is rebooted by restarting its container: its network namespace and
with it every iptables rule are made anew, and its systemd boots as a host's
does. The iptables node must come back with the rules it had, in the swarm, and
the next site.yml changes nothing. So must the firewalld node, whose published-ports
chain the unit restores too: firewalld counts as started once it holds its D-Bus
name and only then flushes every iptables chain while it loads its rules; before
the unit waited for it to answer "running", that flush took the chain and its jump
away, and published ports were open to every source until site.yml ran again."""

import subprocess
from concurrent.futures import ThreadPoolExecutor

from conftest import node, recap_changed, run_playbook, wait_for
from test_firewall_backends import _backend

# What the role keeps for the next boot, as iptables shows it (ufw and firewalld keep their own rules).
RULES = "iptables -S INPUT; iptables -S DOCKER-USER; iptables -S SWARMNET-INPUT; iptables -S SWARMNET-PUBLISHED"


def _rules(name):
    return node(name).run(RULES).stdout


def _back(name):
    """The rebooted node booted, its engine answers and it is an active swarm member again."""
    result = node(name).run("systemctl is-system-running; docker info --format '{{.Swarm.LocalNodeState}}'")
    lines = result.stdout.split()
    return len(lines) == 2 and lines[0] in ("running", "degraded") and lines[1] == "active"


def test_a_rebooted_node_comes_back_with_the_roles_chains(swarm_nodes):
    # The workers with the iptables backend and with firewalld (the lab's one manager stays up).
    rebooted = [name for name in swarm_nodes if _backend(name) in ("iptables", "firewalld")
                and name.rsplit("-", 1)[1].startswith("worker")]
    assert sorted(_backend(name) for name in rebooted) == ["firewalld", "iptables"], rebooted
    before = {name: _rules(name) for name in rebooted}
    for name in rebooted:
        # Converged with default deny and published sources: the chains to keep are there.
        if _backend(name) == "iptables":
            assert "-P INPUT DROP" in before[name] and "-j SWARMNET-INPUT" in before[name], before[name]
        assert "-j SWARMNET-PUBLISHED" in before[name], before[name]
        assert node(name).run("systemctl is-enabled swarmnet-firewall.service").stdout.strip() == "enabled"

    with ThreadPoolExecutor(max_workers=len(rebooted)) as pool:
        list(pool.map(lambda name: subprocess.run(["docker", "restart", name], check=True, stdout=subprocess.DEVNULL), rebooted))
    for name in rebooted:
        assert wait_for(lambda: _back(name), timeout=180, interval=3), node(name).run("systemctl --failed").stdout

    after = {name: _rules(name) for name in rebooted}
    for name in rebooted:
        print("%s (%s) after the reboot:\n%s" % (name, _backend(name), after[name]))
        assert after[name] == before[name], (name, before[name], after[name])

    rc, out = run_playbook("site.yml")
    assert rc == 0 and recap_changed(out) == 0, out[-3000:]

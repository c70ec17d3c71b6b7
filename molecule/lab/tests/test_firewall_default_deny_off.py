"""Turning default deny off again (firewall_default_deny: false after true) on
ufw (manager1) and firewalld (worker1): each gets back what it had before the
role turned default deny on, recorded by the role when it did, and a rerun
changes nothing. Before, only the iptables backend gave its policy back: ufw
kept denying and firewalld's zone kept its DROP target.

Both nodes start here as hosts whose firewall let everything in (ufw's
incoming policy allow, firewalld's zone target ACCEPT), so the difference shows
from this machine, which is no cluster node: it reaches a swarm port only while
default deny is off. The lab's own state (ufw's default deny, firewalld's
default target, default deny on through the role) is restored at the end."""

from conftest import answers_here, node, recap_changed, run_playbook
from test_firewall_backends import FIREWALL_PLAYBOOK, _addresses, _backend, _facts, _firewall_state

# A swarm port each node listens on, on every interface: reached from this machine only when not denied.
PROBE_PORT = {"ufw": 2377, "firewalld": 7946}
RECORDS = "/etc/ufw/swarmnet-default-deny.json /etc/firewalld/swarmnet-default-deny.json"


def _pick(swarm_nodes, backend):
    return [name for name in swarm_nodes if _backend(name) == backend][0]


def _open_to_this_machine(name):
    # A node on this machine's own bridge answers within a second or drops.
    return answers_here(_addresses(name)[0], PROBE_PORT[_backend(name)], timeout=1)


def _role_state(state):
    """The ufw and permanent firewalld parts of _firewall_state's text, as sorted lines."""
    sections = ("### ufw show added", "### ufw status verbose", "### firewall-cmd --permanent --list-all")
    kept, keep = [], False
    for line in state.splitlines():
        if line.startswith("### "):
            keep = line in sections
        if keep:
            kept.append(line)
    return sorted(kept)


def _set_by_hand(ufw_node, firewalld_node, zone, ufw_incoming, firewalld_target):
    """Set the firewalls as a host had them before the role, without the role's records."""
    node(ufw_node).check_output("rm -f %s && ufw default %s incoming" % (RECORDS, ufw_incoming))
    node(firewalld_node).check_output(
        "rm -f %s && firewall-cmd --permanent --zone=%s --set-target=%s && firewall-cmd --reload" % (RECORDS, zone, firewalld_target))


def test_default_deny_off_gives_back_the_policy_ufw_and_firewalld_had(swarm_nodes):
    ufw_node, firewalld_node = _pick(swarm_nodes, "ufw"), _pick(swarm_nodes, "firewalld")
    limit = "%s,%s" % (ufw_node, firewalld_node)
    before = {name: _firewall_state(name) for name in (ufw_node, firewalld_node)}
    zone = _facts(firewalld_node)["firewall"]["firewalld"]["zone"]  # where the role keeps its rules
    try:
        _set_by_hand(ufw_node, firewalld_node, zone, "allow", "ACCEPT")
        assert _open_to_this_machine(ufw_node) and _open_to_this_machine(firewalld_node)

        rc, out = run_playbook(FIREWALL_PLAYBOOK, "--limit", limit, firewall_default_deny=True)
        assert rc == 0 and recap_changed(out) > 0, out[-3000:]
        ufw_fw, firewalld_fw = _facts(ufw_node)["firewall"], _facts(firewalld_node)["firewall"]
        assert ufw_fw["ufw"]["default_incoming"] == "deny"
        assert ufw_fw["ufw"]["default_deny_record"] == {"incoming": "allow"}
        assert firewalld_fw["firewalld"]["runtime"]["target"] == "DROP"
        assert firewalld_fw["firewalld"]["default_deny_record"] == {"zone": zone, "target": "ACCEPT"}
        assert not _open_to_this_machine(ufw_node) and not _open_to_this_machine(firewalld_node)

        rc, out = run_playbook(FIREWALL_PLAYBOOK, "--limit", limit, firewall_default_deny=False)
        assert rc == 0 and recap_changed(out) > 0, out[-3000:]
        ufw_fw, firewalld_fw = _facts(ufw_node)["firewall"], _facts(firewalld_node)["firewall"]
        assert ufw_fw["ufw"]["default_incoming"] == "allow" and ufw_fw["ufw"]["default_deny_record"] is None
        assert firewalld_fw["firewalld"]["permanent"]["target"] == "ACCEPT"
        assert firewalld_fw["firewalld"]["runtime"]["target"] == "ACCEPT"  # in effect in the run
        assert firewalld_fw["firewalld"]["default_deny_record"] is None
        assert _open_to_this_machine(ufw_node) and _open_to_this_machine(firewalld_node)
        # The swarm's own rules stay.
        assert any("app swarmnet" in r["spec"] for r in ufw_fw["ufw"]["rules"])
        assert any('port="7946"' in r for r in firewalld_fw["firewalld"]["runtime"]["rich_rules"])

        rc, out = run_playbook(FIREWALL_PLAYBOOK, "--limit", limit, firewall_default_deny=False)
        assert rc == 0 and recap_changed(out) == 0, out[-3000:]
    finally:
        # The lab's own starting point, then default deny through the role as converge did.
        _set_by_hand(ufw_node, firewalld_node, zone, "deny", "default")
        rc, out = run_playbook(FIREWALL_PLAYBOOK, "--limit", limit, firewall_default_deny=True)
    assert rc == 0, out[-3000:]
    for name, state in before.items():
        # The same ufw rules and firewalld zone; the order may differ (the SSH rule ufw drops with default
        # deny off comes back last). Docker's own iptables rules are left out: after a firewalld reload
        # the engine puts them back itself, not always as they were.
        assert _role_state(_firewall_state(name)) == _role_state(state), name
    assert not _open_to_this_machine(ufw_node) and not _open_to_this_machine(firewalld_node)

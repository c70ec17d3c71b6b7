"""site.yml demotes managers to match the inventory only with the quorum guard that
playbooks/node_role.yml has (issue 11 item 6): both go through swarmnet.overlay.swarm_nodes."""

import json
import os
import subprocess
import tempfile

from conftest import INVENTORY, REPO, node, node_list, recap_changed, run_playbook, wait_for

import yaml

# Raft traffic of one manager cut in its OUTPUT chain, which the firewall role does not manage.
CUT = ["OUTPUT -p tcp --dport 2377 -j DROP", "OUTPUT -p tcp --sport 2377 -j DROP"]
# A manager in the Raft group: an election during a test may make any of them the leader.
RAFT_MEMBER = ("Leader", "Reachable")


def _manager_status(host):
    """Hostname -> manager status; empty while the managers re-elect (the node list times out then)."""
    return dict((entry["Hostname"], entry["ManagerStatus"] or "worker") for entry in node_list(host))


def _inventory_moving_to_workers(moved):
    """The lab's inventory with one manager moved to the workers' group."""
    with open(INVENTORY) as handle:
        lab = yaml.safe_load(handle)
    children = lab["all"]["children"]["swarm"]["children"]
    children["swarm_workers"]["hosts"][moved] = children["swarm_managers"]["hosts"].pop(moved)
    handle = tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False, dir=os.path.join(REPO, "lab", ".state"))
    yaml.safe_dump(lab, handle)
    handle.close()
    return handle.name


def test_site_refuses_a_demotion_that_loses_the_quorum(groups):
    first, second, third = groups["swarm_managers"][:3]
    # Asked on the first manager whichever host the verifier runs this from: the third one loses its quorum view.
    lead = node(first)
    cut = node(third)
    inventory = _inventory_moving_to_workers(second)
    try:
        for rule in CUT:
            cut.check_output("iptables -I %s" % rule)
        assert wait_for(lambda: _manager_status(lead).get(third) == "Unreachable", timeout=90), _manager_status(lead)
        out = subprocess.run(["ansible-playbook", "-i", inventory, "-e", json.dumps({"firewall_default_deny": True}), "site.yml"],
                             cwd=REPO, env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".collections"),
                                                ANSIBLE_NOCOLOR="1"),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
        assert out.returncode != 0, out.stdout[-4000:]
        assert "refusing to demote %s: the swarm has 3 manager(s), 2 reachable" % second in out.stdout, out.stdout[-4000:]
        # Still a manager (the cut may have moved the leadership to it: Leader counts as much as Reachable).
        assert wait_for(lambda: _manager_status(lead).get(second) in RAFT_MEMBER, timeout=60), _manager_status(lead)
    finally:
        os.unlink(inventory)
        for rule in CUT:
            cut.run("iptables -D %s" % rule)
        # The run above applied the firewall for the moved inventory: converge back to the real one. The healed
        # manager can set off elections, during which the node list fails and a run can fail with it: one more try.
        wait_for(lambda: _manager_status(lead).get(third) in RAFT_MEMBER, timeout=90)
        if run_playbook("site.yml")[0] != 0:
            wait_for(lambda: _manager_status(lead).get(third) in RAFT_MEMBER, timeout=90)
            run_playbook("site.yml")
    # One read can fall into an election (the node list is empty then): wait for the three managers.
    managers = (first, second, third)
    assert wait_for(lambda: all(_manager_status(lead).get(m) in RAFT_MEMBER for m in managers), timeout=120), _manager_status(lead)
    rc, out = run_playbook("site.yml")
    assert rc == 0 and recap_changed(out) == 0, out[-4000:]

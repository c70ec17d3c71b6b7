"""Node operations runbooks on the lab's spare node: add, promote, demote (with
the quorum check), drain and remove; token rotation."""


from conftest import node, node_list, run_playbook, wait_for


def _roles(host):
    return dict((entry["Hostname"], entry["ManagerStatus"] or "worker") for entry in node_list(host))


def test_add_promote_demote_and_remove_a_node(host, groups):
    spare = groups["swarm_spares"][0]
    first = groups["swarm_managers"][0]

    rc, out = run_playbook("playbooks/node_add.yml", node_add_hosts=spare)
    assert rc == 0, out[-3000:]
    assert _roles(host).get(spare) == "worker"

    rc, out = run_playbook("playbooks/node_role.yml", node_role_host=spare, node_role="manager")
    assert rc == 0, out[-3000:]
    # A new manager takes a moment to join the Raft group.
    assert wait_for(lambda: _roles(host).get(spare) in ("Reachable", "Leader"), timeout=60), _roles(host)

    rc, out = run_playbook("playbooks/node_role.yml", node_role_host=spare, node_role="worker")
    assert rc == 0, out[-3000:]
    assert wait_for(lambda: _roles(host).get(spare) == "worker", timeout=30), _roles(host)
    # The last manager cannot be demoted.
    rc, out = run_playbook("playbooks/node_role.yml", node_role_host=first, node_role="worker")
    assert rc != 0 and "refusing to demote %s" % first in out, out[-3000:]

    rc, out = run_playbook("playbooks/node_remove.yml", node_remove_host=spare)
    assert rc == 0, out[-3000:]
    assert spare not in _roles(host)
    assert node(spare).check_output("docker info --format '{{.Swarm.LocalNodeState}}'") == "inactive"


def test_rotate_tokens_changes_both_tokens(host):
    before = {kind: host.check_output("docker swarm join-token -q %s" % kind) for kind in ("worker", "manager")}
    rc, out = run_playbook("playbooks/rotate_tokens.yml")
    assert rc == 0, out[-3000:]
    after = {kind: host.check_output("docker swarm join-token -q %s" % kind) for kind in ("worker", "manager")}
    for kind in ("worker", "manager"):
        assert before[kind] != after[kind], "%s token unchanged" % kind
        assert after[kind] not in out and before[kind] not in out, "a join token reached the playbook output"

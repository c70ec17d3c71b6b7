"""The day2 cluster as converged: three managers with a quorum, two workers."""

from conftest import node_list


def test_three_managers_one_leader_and_two_workers(host, groups):
    status = dict((entry["Hostname"], (entry["Status"], entry["ManagerStatus"] or "worker")) for entry in node_list(host))
    managers = groups["swarm_managers"]
    assert len(managers) == 3
    assert all(status[m][0] == "Ready" for m in managers), status
    assert sorted(status[m][1] for m in managers) == ["Leader", "Reachable", "Reachable"], status
    assert all(status[w] == ("Ready", "worker") for w in groups["swarm_workers"]), status

"""playbooks/rolling_maintenance.yml on the day2 lab: the whole cluster rolled with
engine_restart while a request loop measures a 3-replica dnsrr service, and a roll
that stops at a node whose engine does not come back (a broken daemon.json).

Both tests leave the cluster converged: every node Ready and active, three
managers with a quorum, site.yml changed=0.
"""

import re

import pytest
from conftest import node, node_list, recap_changed, run_module, run_playbook, wait_for

SERVICE = "rolling-hello"
NETWORK = "helloNet"


def node_table(host):
    return dict((entry["Hostname"], (entry["Status"], entry["Availability"], entry["ManagerStatus"] or "worker"))
                for entry in node_list(host))


def service_nodes(host):
    """Nodes of the service's running tasks."""
    out = host.check_output("docker service ps %s --filter desired-state=running --format '{{.Node}} {{.CurrentState}}'" % SERVICE)
    return [line.split()[0] for line in out.splitlines() if line.split()[1] == "Running"]


def engine_started_at(name):
    return node(name).check_output("systemctl show docker --property ActiveEnterTimestampMonotonic")


def converged(host, groups):
    table = node_table(host)
    managers = sorted(table[m][2] for m in groups["swarm_managers"])
    return (all(table[n][:2] == ("Ready", "Active") for n in groups["swarm_managers"] + groups["swarm_workers"])
            and managers == ["Leader", "Reachable", "Reachable"]) and table


@pytest.fixture(scope="module")
def rolling_service(host):
    rc, out = run_playbook("molecule/day2/rolling_service.yml")
    assert rc == 0, out[-3000:]
    assert wait_for(lambda: len(service_nodes(host)) == 3), host.check_output("docker service ps %s" % SERVICE)
    image = host.check_output("docker service inspect --format '{{.Spec.TaskTemplate.ContainerSpec.Image}}' %s" % SERVICE)
    yield image
    host.run("docker service rm %s" % SERVICE)


def test_a_batch_that_would_lose_the_quorum_is_refused_before_anything_changes(host, groups):
    before = node_table(host)
    rc, out = run_playbook("playbooks/rolling_maintenance.yml", rolling_maintenance_batch=2)
    # The first batch holds two of the three managers: one left cannot keep a majority.
    assert rc != 0 and "refusing to roll with batches of 2" in out, out[-3000:]
    assert "Use a smaller rolling_maintenance_batch" in out and "TASK [Drain the node]" not in out, out[-3000:]
    assert node_table(host) == before


def test_a_roll_stops_at_a_node_whose_engine_does_not_come_back(host, groups, rolling_service):
    broken, untouched = groups["swarm_workers"][0], groups["swarm_workers"][1]
    others = groups["swarm_managers"] + [untouched]
    started_before = {name: engine_started_at(name) for name in others}
    # A daemon.json dockerd cannot parse: the engine fails to start, for real.
    node(broken).check_output("cp -a /etc/docker/daemon.json /root/daemon.json.rolling && echo '{not json' > /etc/docker/daemon.json")
    try:
        rc, out = run_playbook("playbooks/rolling_maintenance.yml", rolling_maintenance_hosts="swarm_workers",
                               rolling_maintenance_probe_service=SERVICE, rolling_maintenance_probe_network=NETWORK)
        assert rc != 0, out[-3000:]
        stop = re.search(r"rolling maintenance stopped at (\S+) \(engine_restart\).*", out)
        assert stop and stop.group(1) == broken, out[-4000:]
        print(stop.group(0))
        assert "not touched: ['%s']" % untouched in out, out[-3000:]
        # The rest of the cluster: untouched (no engine restarted, availability as before) and serving.
        assert {name: engine_started_at(name) for name in others} == started_before
        table = node_table(host)
        assert all(table[name][:2] == ("Ready", "Active") for name in others), table
        assert table[broken][1] == "Drain", table
        failed, probe = run_module(groups["swarm_managers"][0], "swarmnet.overlay.service_endpoint_probe", {
            "service": SERVICE, "network": NETWORK, "probe_image": rolling_service, "expect_endpoint_mode": "dnsrr",
            "min_responders": 3, "requests": 15, "max_failures": 0})
        assert not failed, probe
        assert broken not in service_nodes(host)
    finally:
        node(broken).check_output("mv /root/daemon.json.rolling /etc/docker/daemon.json && systemctl reset-failed docker && systemctl start docker")
        # The operator's way back: rerun the roll for the repaired node.
        rc, out = run_playbook("playbooks/rolling_maintenance.yml", rolling_maintenance_hosts=broken)
        assert rc == 0, out[-3000:]
    assert wait_for(lambda: converged(host, groups)), node_table(host)


def test_whole_cluster_rolled_without_losing_a_request(host, groups, rolling_service):
    assert len(set(service_nodes(host))) == 3, "the 3 replicas should run on 3 nodes before the roll"
    rc, out = run_playbook("playbooks/rolling_maintenance.yml", rolling_maintenance_probe_service=SERVICE,
                           rolling_maintenance_probe_network=NETWORK)
    numbers = re.search(r"requests\s+sent (\d+), failed (\d+),\s+longest gap ([0-9.]+) s", out)
    assert rc == 0 and numbers, out[-4000:]
    print(re.sub(r"\s+", " ", re.search(r"msg: '(%s during the roll.*?)'\n\n" % SERVICE, out, re.S).group(1)))
    sent, failed = int(numbers.group(1)), int(numbers.group(2))
    # The aim is 0 (and 0 is what an unloaded machine measured). On a loaded CI machine single requests can time out
    # or the embedded DNS can miss an answer; the runbook lists each with its reason, and more than 1 % is a failure.
    assert sent > 0 and failed * 100 <= sent, out[-4000:]
    listed = out.split("failed requests:", 1)[1].split("TASK [", 1)[0]
    assert listed.count("'at'") == min(failed, 50), out[-4000:]
    restarted = re.findall(r"TASK \[Restart the engine\] \**\nchanged: \[([^\]]+)\]", out)
    assert restarted == groups["swarm_managers"] + groups["swarm_workers"], out[-4000:]
    assert wait_for(lambda: converged(host, groups)), node_table(host)
    assert len(service_nodes(host)) == 3
    rc, out = run_playbook("site.yml")
    assert rc == 0 and recap_changed(out) == 0, out[-3000:]

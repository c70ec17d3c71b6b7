"""The tutorial's runbooks in their default mode, VIP, end to end on kernels with
IPVS: on the node-container lab they can only assert the "IPVS missing" diagnosis.
Runs with default deny and the three firewall backends on. The tests run in file order."""

import pytest
from conftest import run_playbook

# About 12 minutes under TCG (discovery, attachable, cleanup): scripts/test.sh vagrant_full runs them, vagrant does not.
pytestmark = pytest.mark.vagrant_full


def _ok(playbook, **extra):
    rc, out = run_playbook(playbook, **extra)
    assert rc == 0, out[-4000:]
    assert "IPVS missing" not in out, out[-4000:]
    return out


def _replica_nodes(host, service):
    return host.check_output(
        "docker service ps %s --filter desired-state=running --format '{{.Node}}'" % service).split()


def test_discovery_in_vip_mode_resolves_only_on_the_overlay_and_reaches_replicas_on_other_vms(host, groups, lab_nodes):
    out = _ok("playbooks/discovery.yml")
    # The runbook asserts both: no name on ingress only, and by name on helloTest
    # (service_endpoint_probe run inside gethello, which is pinned to the first manager).
    assert "2 replicas answered by name" in out, out[-4000:]
    nodes = _replica_nodes(host, "helloworld")
    print("helloworld replicas on %s; gethello on %s" % (nodes, _replica_nodes(host, "gethello")))
    if len(lab_nodes) > 1:
        # Both replicas answered, and at least one of them runs on another VM than gethello.
        assert [n for n in nodes if n != groups["swarm_managers"][0]], nodes


# Takes host like the others: pytest runs the tests parametrized by host first, and the cleanup must stay last.
def test_attachable_in_vip_mode_takes_a_standalone_container_and_the_closed_network_refuses(host):
    out = _ok("playbooks/attachable.yml", attachable_endpoint_mode="vip")
    assert "not manually attachable" in out
    assert "replicas answered by name" in out
    assert host.check_output("docker network inspect helloTest2 --format '{{.Attachable}}'") == "true"


def test_cleanup_removes_what_the_runbooks_made(host):
    _ok("playbooks/cleanup.yml")
    assert host.check_output("docker service ls -q --filter name=helloworld") == ""

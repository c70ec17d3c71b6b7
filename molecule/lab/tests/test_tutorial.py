"""The tutorial's behaviours, checked by the runbooks' own assertions on the lab
(node containers on a kernel without IPVS), then the overlay_network and
firewall checks that need services running. The tests run in file order:
first the runbooks' previews (--check), while none of them has run yet."""

import json
import re

import pytest
import yaml
from conftest import INVENTORY, docker_json, node, recap_changed, run_module, run_playbook, start_playbook


def _ok(playbook, **extra):
    rc, out = run_playbook(playbook, **extra)
    assert rc == 0, out[-4000:]
    return out


def _cluster_state(manager, nodes):
    """What a runbook could change: services, networks, node entries (role, availability), and on every node its
    containers, images and the demo app's build directory."""
    state = dict(
        services=manager.check_output("docker service ls --format '{{.Name}} {{.Mode}} {{.Replicas}} {{.Image}}' | sort"),
        networks=manager.check_output("docker network ls --format '{{.Name}} {{.Driver}}' | sort"),
        nodes=manager.check_output("docker node ls --format '{{.Hostname}} {{.Status}} {{.Availability}} {{.ManagerStatus}}' | sort"),
    )
    for name in nodes:
        state[name] = node(name).check_output(
            "docker ps -a --format '{{.Names}} {{.State}}' | sort; docker images -q | sort;"
            " ls -d /opt/swarmnet/demo-app 2>/dev/null || true")
    return state


def _swarm_groups():
    """The lab's managers and workers, from its inventory (no host fixture: see the next test)."""
    with open(INVENTORY) as handle:
        children = yaml.safe_load(handle)["all"]["children"]["swarm"]["children"]
    return dict((group, list((children[group] or {}).get("hosts") or {})) for group in ("swarm_managers", "swarm_workers"))


# Without testinfra's host fixture on purpose: pytest runs the tests that take it after the others of the file, and
# this one must run before the runbooks below have deployed anything.
def test_runbooks_preview_with_check_and_change_nothing():
    """--check --diff on a converged cluster: the tutorial runbooks (which deploy, then probe) preview their networks,
    images and services and skip the probes; node_remove previews the drain, the leave and the removal;
    recover_quorum on a swarm with a leader reads everything and has nothing to do. All at once (read-only)."""
    groups = _swarm_groups()
    nodes = groups["swarm_managers"] + groups["swarm_workers"]
    host = node(groups["swarm_managers"][0])
    before = _cluster_state(host, nodes)
    worker = groups["swarm_workers"][-1]
    previews = dict(
        discovery=start_playbook("playbooks/discovery.yml", "--check", "--diff"),
        attachable=start_playbook("playbooks/attachable.yml", "--check", "--diff"),
        load_balancing=start_playbook("playbooks/load_balancing.yml", "--check", "--diff"),
        node_remove=start_playbook("playbooks/node_remove.yml", "--check", "--diff", node_remove_host=worker),
        recover_quorum=start_playbook("playbooks/recover_quorum.yml", "--check", "--diff",
                                      recover_quorum_survivor=groups["swarm_managers"][-1]),
    )
    # Whitespace flattened: the YAML callback folds long messages over lines.
    outs = dict((name, " ".join(running.communicate()[0].split())) for name, running in previews.items())
    for name, running in previews.items():
        assert running.returncode == 0, (name, outs[name][-4000:])
    for name in ("discovery", "attachable", "load_balancing"):
        assert "the probes and their checks run only in a real run" in outs[name], outs[name][-3000:]
        assert recap_changed(outs[name]) > 0, (name, outs[name][-3000:])  # it shows what it would deploy
    assert "would be removed from the node list once it has left" in outs["node_remove"], outs["node_remove"][-3000:]
    assert re.search(r"%s : ok=\d+ changed=1 " % re.escape(worker), outs["node_remove"]), outs["node_remove"][-3000:]  # it would leave
    assert recap_changed(outs["recover_quorum"]) == 0, outs["recover_quorum"][-3000:]
    assert "Workers not back in time: []" in outs["recover_quorum"], outs["recover_quorum"][-3000:]
    assert _cluster_state(host, nodes) == before


def test_discovery_in_vip_mode_resolves_only_on_a_shared_overlay_and_names_missing_ipvs():
    out = _ok("playbooks/discovery.yml")
    assert "IPVS missing in the kernel of node" in out


def test_discovery_in_dnsrr_mode_reaches_the_replicas_by_name():
    out = _ok("playbooks/discovery.yml", discovery_endpoint_mode="dnsrr")
    assert "2 replicas answered by name" in out


@pytest.mark.parametrize("mode", ["dnsrr", "vip"])
def test_attachable_network_takes_a_standalone_container_and_the_closed_one_refuses(mode):
    out = _ok("playbooks/attachable.yml", attachable_endpoint_mode=mode)
    assert "not manually attachable" in out
    assert ("replicas answered by name" if mode == "dnsrr" else "IPVS missing in the kernel of node") in out


def test_load_balancing_vip_and_dnsrr():
    out = _ok("playbooks/load_balancing.yml")
    assert "all answered" in out                      # every task address, across nodes
    assert "IPVS missing in the kernel of node" in out  # VIP and routing mesh on this kernel
    assert "(every task)" in out                      # dnsrr: the name gives every task address


def _probe_dnsrr(host):
    failed, result = run_module(host.backend.host, "swarmnet.overlay.service_endpoint_probe",
                                dict(service="helloworld", network="helloNet", exec_in_service="helloworld",
                                     requests=3, request_timeout=1))
    assert not failed, result.get("msg")
    tasks = [t for t in result["targets"] if t["group"] == "task"]
    return result, tasks


def test_vxlan_port_is_necessary_and_the_firewall_role_restores_it(host, groups):
    victim = groups["swarm_workers"][-1]
    result, tasks = _probe_dnsrr(host)
    assert tasks and all(t["answered"] == t["requests"] for t in tasks), result["targets"]
    assert any(t["node"] == victim for t in tasks), "no helloworld task on %s" % victim

    rules = [r for r in node(victim).check_output("iptables -S SWARMNET-INPUT").splitlines() if "--dport 4789" in r]
    assert rules
    for rule in rules:
        node(victim).check_output("iptables " + rule.replace("-A ", "-D ", 1))
    try:
        result, tasks = _probe_dnsrr(host)
        on_victim = [t for t in tasks if t["node"] == victim]
        elsewhere = [t for t in tasks if t["node"] != victim and not t["local"]]
        assert on_victim and all(t["answered"] == 0 for t in on_victim), on_victim
        assert all(t["answered"] == t["requests"] for t in elsewhere), elsewhere
        assert any("4789/udp" in d and victim in d for d in result["diagnoses"]), result["diagnoses"]
        print("blocked:", json.dumps(result["diagnoses"]))
    finally:
        rc, out = run_playbook("site.yml")
    assert rc == 0, out[-3000:]
    result, tasks = _probe_dnsrr(host)
    assert all(t["answered"] == t["requests"] for t in tasks), result["targets"]


def _hellonet(host):
    return docker_json(host, "network inspect helloNet")[0]


def test_changed_subnet_fails_naming_field_and_service_and_changes_nothing(host):
    before = _hellonet(host)
    failed, result = run_module(host.backend.host, "swarmnet.overlay.overlay_network",
                                dict(name="helloNet", attachable=True, ipam_config=[{"subnet": "172.19.9.0/24"}]))
    assert failed
    assert "ipam_config[0].subnet" in result["msg"] and "helloworld" in result["msg"], result["msg"]
    after = _hellonet(host)
    assert (after["Id"], after["IPAM"]["Config"]) == (before["Id"], before["IPAM"]["Config"])


def test_changed_subnet_with_recreate_reattaches_the_services(host):
    declared = dict(name="helloNet", attachable=True, recreate="always_detach")
    failed, result = run_module(host.backend.host, "swarmnet.overlay.overlay_network",
                                dict(declared, ipam_config=[{"subnet": "172.19.9.0/24"}]))
    assert not failed and result["changed"], result.get("msg")
    assert "helloworld" in json.dumps(result["services_touched"])
    new_id = _hellonet(host)["Id"]
    targets = docker_json(host, "service inspect helloworld --format '{{json .Spec.TaskTemplate.Networks}}'")
    assert new_id in [t["Target"] for t in targets]
    # Back to what the inventory declares, so that site.yml stays idempotent.
    failed, result = run_module(host.backend.host, "swarmnet.overlay.overlay_network",
                                dict(declared, ipam_config=[{"subnet": "172.19.1.0/24", "gateway": "172.19.1.1"}]))
    assert not failed, result.get("msg")
    rc, out = run_playbook("site.yml")
    assert rc == 0 and "changed=0" in out and "changed=1" not in out, out[-3000:]


@pytest.mark.parametrize("args,expect", [
    (dict(name="bad1", ipam_config=[{"subnet": "172.19.300.0/24"}]), "subnet"),
    (dict(name="bad2", ipam_config=[{"subnet": "172.19.20.0/24", "gateway": "172.19.21.1"}]), "gateway"),
    (dict(name="bad3", ipam_config=[{"subnet": "172.19.1.128/25"}]), "helloNet"),
    (dict(name="swarmnet-local-bridge", ipam_config=[{"subnet": "172.19.30.0/24"}]), "swarmnet-local-bridge"),
    (dict(name="ingress2", ingress=True, attachable=True), "attachable"),
])
def test_bad_network_input_fails_clearly_and_changes_nothing(host, args, expect):
    host.run("docker network create -d bridge --subnet 172.19.31.0/24 swarmnet-local-bridge")
    try:
        before = host.check_output("docker network ls -q | sort")
        failed, result = run_module(host.backend.host, "swarmnet.overlay.overlay_network", args)
        assert failed and expect in result["msg"], result.get("msg")
        assert host.check_output("docker network ls -q | sort") == before
    finally:
        host.run("docker network rm swarmnet-local-bridge")


def test_cleanup_removes_what_the_runbooks_made(host):
    out = _ok("playbooks/cleanup.yml")
    assert host.check_output("docker service ls -q") == ""
    names = host.check_output("docker network ls --format '{{.Name}}'").split()
    assert "helloTest" not in names and "helloTest2" not in names
    assert "helloNet" in names   # declared by the inventory: site.yml owns it
    rc, out = run_playbook("playbooks/cleanup.yml")
    assert rc == 0 and "changed=0" in out and "changed=1" not in out, out[-3000:]

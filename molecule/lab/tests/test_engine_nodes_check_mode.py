"""Engine decided by behaviour (issue 8 item 7), stale node entries (issue 11 item 3) and
site.yml --check --diff on a fresh first manager (issue 11 item 10), on the lab's real swarm."""

import json
import os
import subprocess
import tempfile

from conftest import INVENTORY, REPO, node, node_list, recap_changed, run_module, run_playbook, wait_for

import yaml

DPKG_STATUS = "/var/lib/dpkg/status"
DPKG_BACKUP = "/root/dpkg-status.swarmnet-test"


def _entries(host, hostname):
    return [entry for entry in node_list(host) if entry["Hostname"] == hostname]


def _inventory_with(groups_hosts):
    """A temporary inventory: the lab's own vars and hosts, regrouped as groups_hosts says."""
    with open(INVENTORY) as handle:
        lab = yaml.safe_load(handle)
    hostvars = {}
    for group in lab["all"]["children"]["swarm"]["children"].values():
        hostvars.update(group.get("hosts") or {})
    hostvars.update((lab["all"]["children"].get("swarm_spares") or {}).get("hosts") or {})
    swarm_vars = lab["all"]["children"]["swarm"].get("vars") or {}
    children = dict((group, {"hosts": dict((h, hostvars[h]) for h in hosts)}) for group, hosts in groups_hosts.items())
    data = {"all": {"vars": lab["all"]["vars"], "children": {"swarm": {"vars": swarm_vars, "children": children}}}}
    handle = tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False, dir=os.path.join(REPO, "lab", ".state"))
    yaml.safe_dump(data, handle)
    handle.close()
    return handle.name


def test_engine_not_from_the_docker_io_package_gets_no_package(groups):
    """A node whose engine answers but that dpkg says has no docker.io: the engine role installs nothing."""
    spare = node(groups["swarm_spares"][0])
    spare.check_output("cp %s %s" % (DPKG_STATUS, DPKG_BACKUP))
    playbook = tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False, dir=os.path.join(REPO, "lab", ".state"))
    playbook.write("- hosts: swarm_spares\n  gather_facts: false\n  roles:\n    - swarmnet.overlay.engine\n")
    playbook.close()
    try:
        # Hide the package from dpkg: the engine stays installed and running, as with Docker CE or a static binary.
        spare.check_output("python3 -c \"import re; p='%s'; s=open(p).read(); "
                           "open(p,'w').write(re.sub(r'(?ms)^Package: docker\\.io\\n.*?(\\n\\n|\\Z)', '', s))\"" % DPKG_STATUS)
        assert "install ok installed" not in spare.run("dpkg-query -W -f='${Status}' docker.io").stdout
        assert spare.run("docker info --format '{{.ServerVersion}}'").rc == 0
        rc, out = run_playbook(os.path.relpath(playbook.name, REPO))
        assert rc == 0, out[-3000:]
        assert recap_changed(out) == 0, out[-3000:]
        # Nothing installed over it: dpkg still knows no docker.io.
        assert "install ok installed" not in spare.run("dpkg-query -W -f='${Status}' docker.io").stdout
    finally:
        spare.check_output("cp %s %s && rm -f %s" % (DPKG_BACKUP, DPKG_STATUS, DPKG_BACKUP))
        os.unlink(playbook.name)


def test_check_diff_on_a_fresh_first_manager_changes_nothing(groups):
    """--check --diff where the first manager has no swarm yet: exit 0, says what it would do, does nothing."""
    spare_name = groups["swarm_spares"][0]
    workers = groups.get("swarm_workers", [])
    spare = node(spare_name)
    worker_ids = dict((w, node(w).check_output("docker info --format '{{.Swarm.NodeID}}'")) for w in workers)
    inventory = _inventory_with({"swarm_managers": [spare_name], "swarm_workers": workers})
    try:
        out = subprocess.run(["ansible-playbook", "-i", inventory, "--check", "--diff", "site.yml"], cwd=REPO,
                             env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".collections"), ANSIBLE_NOCOLOR="1",
                                      ANSIBLE_CALLBACK_RESULT_FORMAT="json"),  # one line per message
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
        rc, out = out.returncode, out.stdout
        assert rc == 0, out[-4000:]
        assert "HostVarsVars" not in out and "no_log" not in out
        assert "would join as worker once %s has initialised the swarm" % spare_name in out, out[-4000:]
        assert "would declare overlay network helloNet" in out, out[-4000:]
        assert recap_changed(out) > 0
        # Nothing changed: the spare has no swarm, the workers are still in theirs under the same IDs.
        assert spare.check_output("docker info --format '{{.Swarm.LocalNodeState}}'") == "inactive"
        for worker, node_id in worker_ids.items():
            assert node(worker).check_output("docker info --format '{{.Swarm.NodeID}}'") == node_id
    finally:
        os.unlink(inventory)


def test_check_diff_on_a_fresh_ufw_node_reports_the_rules_and_changes_nothing(groups):
    """--check --diff on a fresh node whose firewall is ufw: ufw checks a rule that names an application profile
    against the installed profiles, which check mode does not install; the run still passes and names the rules."""
    spare_name = groups["swarm_spares"][0]
    spare = node(spare_name)
    inventory = _inventory_with({"swarm_managers": [spare_name]})
    spare.check_output("ufw --force enable")
    try:
        ufw_before = spare.check_output("ufw status verbose")
        out = subprocess.run(["ansible-playbook", "-i", inventory, "--check", "--diff", "-e", json.dumps({"firewall_default_deny": True}),
                              "site.yml"], cwd=REPO,
                             env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".collections"), ANSIBLE_NOCOLOR="1",
                                      ANSIBLE_CALLBACK_RESULT_FORMAT="json"),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
        assert out.returncode == 0, out.stdout[-4000:]
        assert "to any app swarmnet-manager" in out.stdout, out.stdout[-4000:]  # the rule it would add, named
        assert recap_changed(out.stdout) > 0
        # Nothing changed: ufw's rules, no profiles file, no swarm.
        assert spare.check_output("ufw status verbose") == ufw_before
        assert not spare.file("/etc/ufw/applications.d/swarmnet").exists
        assert spare.check_output("docker info --format '{{.Swarm.LocalNodeState}}'") == "inactive"
    finally:
        spare.run("ufw --force disable && ufw --force reset")
        os.unlink(inventory)


def test_stale_entry_of_a_rejoined_worker_is_removed(host, groups):
    """A worker leaves and site.yml rejoins it: its old Down entry goes, reported as a change."""
    worker = groups["swarm_workers"][0]
    old_id = node(worker).check_output("docker info --format '{{.Swarm.NodeID}}'")
    node(worker).check_output("docker swarm leave")
    assert wait_for(lambda: [e for e in _entries(host, worker) if e["ID"] == old_id and e["Status"] == "Down"], 60)
    rc, out = run_playbook("site.yml", "-v")
    assert rc == 0, out[-4000:]
    assert "remove stale entry %s of %s" % (old_id, worker) in out or "removed stale entry %s" % old_id in out, out[-4000:]
    entries = _entries(host, worker)
    assert [e["Status"] for e in entries] == ["Ready"] and entries[0]["ID"] != old_id, entries
    rc, out = run_playbook("site.yml")
    assert rc == 0 and recap_changed(out) == 0, out[-4000:]


def test_the_only_entry_of_a_down_node_is_kept(host, groups):
    """A worker whose engine is stopped is Down with no twin: an outage to report, never an entry to remove."""
    worker = groups["swarm_workers"][-1]
    first = groups["swarm_managers"][0]
    node(worker).check_output("systemctl stop docker.socket docker")
    try:
        assert wait_for(lambda: [e for e in _entries(host, worker) if e["Status"] == "Down"], 90)
        failed, result = run_module(first, "swarmnet.overlay.swarm_nodes", {"nodes": [{"name": worker}]})
        assert not failed and result["removed"] == [] and not result["changed"], result
        assert len(_entries(host, worker)) == 1
    finally:
        node(worker).check_output("systemctl start docker")
        assert wait_for(lambda: [e for e in _entries(host, worker) if e["Status"] == "Ready"], 90)

"""Autolock with a kept unlock key, unlocking after an engine restart, key and root CA rotation (issue 14).

The tests run in file order and share one autolocked cluster (module fixture);
its finalizer unlocks whatever is locked and runs site.yml with autolock off,
so the cluster is left converged whether the tests pass or fail. Every
ansible run's output is kept, and the last test greps all of them (-vvv ones
included), the repository and the lab's state files for every unlock key seen.
"""

import base64
import json
import os
import secrets
import stat
import subprocess

import pytest
from testinfra.utils.ansible_runner import AnsibleRunner

from conftest import INVENTORY, REPO, node, node_list, recap_changed, run_playbook, wait_for

# Not the host/groups fixtures: those run a test once per manager, and these change the cluster.
_RUNNER = AnsibleRunner(INVENTORY)
MANAGERS = _RUNNER.get_hosts("swarm_managers")
WORKERS = _RUNNER.get_hosts("swarm_workers")

SETTINGS = dict(
    swarm_autolock=True,
    swarm_node_cert_expiry="720h",
    swarm_task_history_limit=7,
    swarm_snapshot_interval=5000,
    swarm_keep_old_snapshots=1,
    swarm_log_entries_for_slow_followers=600,
)
OUTPUTS = []  # every ansible-playbook output of this module
KEYS = set()  # every unlock key seen (current, rotated away, wrong)


def _run(playbook, *args, **extra_vars):
    rc, out = run_playbook(playbook, *args, **extra_vars)
    OUTPUTS.append(out)
    return rc, out


def _current_key(host):
    key = host.check_output("docker swarm unlock-key -q").strip()
    KEYS.add(key)
    return key


def _spec(host):
    return json.loads(host.check_output("docker info --format '{{json .Swarm.Cluster.Spec}}'"))


def _local_state(name):
    return node(name).check_output("docker info --format '{{.Swarm.LocalNodeState}}'").strip()


def _manager_status(host):
    """Hostname -> (Status, ManagerStatus); empty while the managers elect a leader.

    Restarting the leader (after the quorum test, the second manager leads) sets off an election, and
    meanwhile the node list fails with "context deadline exceeded" (CI, stop 17).
    """
    return dict((entry["Hostname"], (entry["Status"], entry["ManagerStatus"])) for entry in node_list(host))


def _tail(out, lines=40):
    return "\n".join(out.splitlines()[-lines:])


@pytest.fixture(scope="module")
def kept(tmp_path_factory):
    """Autolock on with the test settings; the key kept outside the repository."""
    host = node(MANAGERS[0])
    where = tmp_path_factory.mktemp("unlock")
    vault_password = where / "vault-password"
    vault_password.write_text(secrets.token_hex(16) + "\n")
    state = dict(key_file=str(where / "unlock.key"), vault_password_file="", dir=where, vault_password=str(vault_password))
    rc, out = _run("site.yml", "-vvv", swarm_unlock_key_file=state["key_file"], **SETTINGS)
    state["first_run"] = (rc, out)
    try:
        yield state
    finally:
        key_vars = dict(swarm_unlock_key_file=state["key_file"], swarm_unlock_key_vault_password_file=state["vault_password_file"])
        for manager in MANAGERS:
            if _local_state(manager) == "locked":
                _run("playbooks/unlock.yml", **key_vars)
                break
        rc, out = _run("site.yml", swarm_unlock_key_file=state["key_file"])
        assert rc == 0, _tail(out)
        assert "autolock is off: the managers no longer need the unlock key kept in %s" % state["key_file"] in out
        assert _spec(host)["EncryptionConfig"]["AutoLockManagers"] is False


def test_settings_are_applied_in_place_and_the_key_kept_0600(kept):
    host = node(MANAGERS[0])
    rc, out = kept["first_run"]
    assert rc == 0, _tail(out)
    assert recap_changed(out) >= 2  # the settings, the key file
    spec = _spec(host)
    assert spec["EncryptionConfig"]["AutoLockManagers"] is True
    assert spec["CAConfig"]["NodeCertExpiry"] == 720 * 3600 * 10**9
    assert spec["Orchestration"]["TaskHistoryRetentionLimit"] == 7
    assert spec["Raft"]["SnapshotInterval"] == 5000
    assert spec["Raft"]["KeepOldSnapshots"] == 1
    assert spec["Raft"]["LogEntriesForSlowFollowers"] == 600
    key = _current_key(host)
    assert stat.S_IMODE(os.stat(kept["key_file"]).st_mode) == 0o600
    with open(kept["key_file"]) as kept_file:
        holds_the_key = kept_file.read().strip() == key  # compared apart: pytest would print both sides
    assert holds_the_key, "the kept file does not hold the swarm's unlock key"

    rc, out = _run("site.yml", swarm_unlock_key_file=kept["key_file"], **SETTINGS)
    assert rc == 0, _tail(out)
    assert recap_changed(out) == 0, "second site.yml run with the same settings changed something"


def test_rotate_tokens_keeps_autolock_and_the_settings(kept):
    """Before the fix, rotate_tokens.yml (docker_swarm with only the rotate options) turned autolock off and zeroed the spec."""
    host = node(MANAGERS[0])
    assert kept["first_run"][0] == 0
    before = _spec(host)
    tokens = host.check_output("docker swarm join-token -q worker")
    rc, out = _run("playbooks/rotate_tokens.yml")
    assert rc == 0, _tail(out)
    rotated = host.check_output("docker swarm join-token -q worker") != tokens  # apart: pytest would print tokens
    assert rotated, "the worker join token did not change"
    assert _spec(host) == before


def test_rotate_unlock_key_rewrites_the_kept_file_vault_encrypted(kept):
    host = node(MANAGERS[0])
    old = _current_key(host)
    rc, out = _run("playbooks/rotate_unlock_key.yml", "-vvv", swarm_unlock_key_file=kept["key_file"],
                   swarm_unlock_key_vault_password_file=kept["vault_password"])
    assert rc == 0, _tail(out)
    kept["vault_password_file"] = kept["vault_password"]
    new = _current_key(host)
    rotated = new != old  # compared apart: pytest would print both keys
    assert rotated, "the unlock key did not change"
    with open(kept["key_file"]) as kept_file:
        assert kept_file.read().startswith("$ANSIBLE_VAULT;1.2;AES256;swarm_unlock")
    assert stat.S_IMODE(os.stat(kept["key_file"]).st_mode) == 0o600
    plain = subprocess.run(["ansible-vault", "view", "--vault-password-file", kept["vault_password"], kept["key_file"]],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=True, cwd=REPO).stdout
    holds_the_new_key = plain.strip() == new
    assert holds_the_new_key, "the vault-encrypted file does not hold the new key"


def test_restarted_manager_comes_back_locked_and_unlock_yml_brings_it_back(kept):
    host = node(MANAGERS[0])
    manager = MANAGERS[1]
    key_vars = dict(swarm_unlock_key_file=kept["key_file"], swarm_unlock_key_vault_password_file=kept["vault_password_file"])
    node(manager).check_output("systemctl restart docker")
    try:
        _locked_manager_is_unlocked_by_the_runbook(host, manager, key_vars, kept)
    finally:  # a failure above must not leave the manager locked for the tests after this one
        if _local_state(manager) == "locked":
            _run("playbooks/unlock.yml", **key_vars)


def _locked_manager_is_unlocked_by_the_runbook(host, manager, key_vars, kept):
    assert wait_for(lambda: _local_state(manager) == "locked", timeout=60), "the manager did not come back locked"
    assert wait_for(lambda: _manager_status(host).get(manager, (None, None))[1] == "Unreachable", timeout=90), \
        _manager_status(host)

    # A wrong key (well formed): fails for the locked manager only, says why, prints no key.
    wrong = "SWMKEY-1-" + base64.b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    KEYS.add(wrong)
    wrong_file = kept["dir"] / "wrong.key"
    wrong_file.write_text(wrong + "\n")
    rc, out = _run("playbooks/unlock.yml", "-vvv", swarm_unlock_key_file=str(wrong_file))
    assert rc != 0
    assert "%s: the engine rejected the unlock key" % manager in out, _tail(out)
    assert "failed=1" in [line for line in out.splitlines() if line.startswith(manager)][-1]
    for other in set(MANAGERS) - {manager}:
        assert "failed=0" in [line for line in out.splitlines() if line.startswith(other)][-1], "%s failed too" % other
    assert _local_state(manager) == "locked"

    rc, out = _run("playbooks/unlock.yml", "-vvv", **key_vars)
    assert rc == 0, _tail(out)
    assert recap_changed(out) == 1
    # Back in the Raft group (Leader too, should an election have picked it meanwhile).
    assert wait_for(lambda: _manager_status(host).get(manager) in (("Ready", "Reachable"), ("Ready", "Leader")), timeout=90), \
        _manager_status(host)

    rc, out = _run("playbooks/unlock.yml", **key_vars)
    assert rc == 0, _tail(out)
    assert recap_changed(out) == 0


def _root_and_issuers(host):
    swarm_tls = json.loads(host.check_output("docker info --format '{{json .Swarm.Cluster.TLSInfo}}'"))
    ids = host.check_output("docker node ls -q").split()
    nodes = json.loads(host.check_output("docker node inspect " + " ".join(ids)))
    return swarm_tls, {n["Description"]["Hostname"]: n["Description"]["TLSInfo"] for n in nodes}


def test_rotate_ca_refuses_while_a_node_is_down():
    host = node(MANAGERS[0])
    worker = WORKERS[-1]
    before, _issuers = _root_and_issuers(host)
    node(worker).check_output("systemctl stop docker.socket docker.service")
    try:
        assert wait_for(lambda: host.check_output("docker node inspect %s --format '{{.Status.State}}'" % worker) == "down", timeout=90)
        rc, out = _run("playbooks/rotate_ca.yml")
        assert rc != 0
        assert "node(s) %s are not ready" % worker in out, _tail(out)
        assert "Nothing was changed" in out
        after, _issuers = _root_and_issuers(host)
        assert after["TrustRoot"] == before["TrustRoot"], "the root CA changed although the runbook refused"
    finally:
        node(worker).check_output("systemctl start docker.service")
        assert wait_for(lambda: host.check_output("docker node inspect %s --format '{{.Status.State}}'" % worker) == "ready", timeout=90)


def test_rotate_ca_reissues_every_node_and_traffic_still_flows():
    host = node(MANAGERS[0])
    swarm_nodes = MANAGERS + WORKERS
    before, _issuers = _root_and_issuers(host)
    rc, out = _run("playbooks/rotate_ca.yml")
    assert rc == 0, _tail(out)
    assert "%d of %d nodes reissued in" % (len(swarm_nodes), len(swarm_nodes)) in out, _tail(out)
    after, issuers = _root_and_issuers(host)
    assert after["TrustRoot"] != before["TrustRoot"]
    for name, tls in issuers.items():
        assert (tls["CertIssuerSubject"], tls["CertIssuerPublicKey"]) == (after["CertIssuerSubject"], after["CertIssuerPublicKey"]), name
    for name in swarm_nodes:
        assert node(name).check_output("docker info --format '{{.Swarm.LocalNodeState}}'") == "active", name
    assert wait_for(lambda: sorted(_manager_status(host)) == sorted(swarm_nodes), timeout=90), _manager_status(host)
    assert all(status == "Ready" for status, _m in _manager_status(host).values()), _manager_status(host)

    # Across nodes after the rotation: discovery by name, dnsrr, replicas on other nodes answer.
    try:
        rc, out = _run("playbooks/discovery.yml", discovery_endpoint_mode="dnsrr")
        assert rc == 0, _tail(out)
        assert "2 replicas answered by name" in out
    finally:
        rc, out = _run("playbooks/cleanup.yml")
        assert rc == 0, _tail(out)


def test_no_unlock_key_in_any_output_nor_in_the_repository():
    host = node(MANAGERS[0])
    KEYS.discard("")
    _current_key(host)
    assert len(KEYS) >= 3  # before and after the rotation, the wrong one
    # The -vvv runs really were verbose: connection and module transfer lines are in them.
    assert sum("ESTABLISH DOCKER CONNECTION" in out or "ESTABLISH LOCAL CONNECTION" in out for out in OUTPUTS) >= 3
    for index, out in enumerate(OUTPUTS):
        assert not any(key in out for key in KEYS), "an unlock key is in ansible output #%d" % index
    found = []
    for root, _dirs, files in os.walk(REPO):  # lab/.state included; .venv and .collections are links, not walked
        for name in files:
            path = os.path.join(root, name)
            try:
                with open(path, "rb") as handle:
                    data = handle.read()
            except OSError:
                continue
            if any(key.encode() in data for key in KEYS):
                found.append(path)
    assert not found, "an unlock key is in %s" % found

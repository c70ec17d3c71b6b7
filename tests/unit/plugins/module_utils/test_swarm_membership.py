# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import hashlib

import pytest

from ansible_collections.swarmnet.overlay.plugins.module_utils import swarm_membership as sm

# The root CA of a real lab swarm (Engine 20.10) and the digest field of its join tokens
# (SWMTKN-1-<this>-<secret>): the token's digest is SHA-256 over the PEM bytes exactly
# as the engine stores and reports them, trailing newline included.
LAB_CA_PEM = (
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBajCCARCgAwIBAgIUBemv5NiJlFDgSoDSR1uuNaE6Q0swCgYIKoZIzj0EAwIw\n"
    "EzERMA8GA1UEAxMIc3dhcm0tY2EwHhcNMjYxMTI5MTQ1MzAwWhcNNDYxMTI0MTQ1\n"
    "MzAwWjATMREwDwYDVQQDEwhzd2FybS1jYTBZMBMGByqGSM49AgEGCCqGSM49AwEH\n"
    "A0IABB/YemyJx2ay4gxSopkWaNFMk7Ph8VTpQZm0nl38s3SGgLC3x/RMv9r77JuY\n"
    "jsd0BBMsG7FGMIejR2ZggrzDmbijQjBAMA4GA1UdDwEB/wQEAwIBBjAPBgNVHRMB\n"
    "Af8EBTADAQH/MB0GA1UdDgQWBBQpBiqa7u636WL+UdK0Jt2QvdfP9TAKBggqhkjO\n"
    "PQQDAgNIADBFAiEAoPdHSI7Plk/v1s2hfWSEU7w4/svn2G9nwd5arQHit5kCIE8w\n"
    "JONXBI7BQt+k5PDR63dnWHR3sDFqYfU9Z+zfLSTc\n"
    "-----END CERTIFICATE-----\n"
)
LAB_DIGEST_FIELD = "0hv8vxp2a75st21je9dz04vkevte9l90e87iyicpyy6extrsyu"
FAKE_SECRET = "abcdefghijklmnopqrstuvwxy"  # made up: 25 base-36 chars
TOKEN = "SWMTKN-1-%s-%s" % (LAB_DIGEST_FIELD, FAKE_SECRET)
OTHER_DIGEST = "f" * 64


def to_base36(number, width):
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while number:
        number, rem = divmod(number, 36)
        out = digits[rem] + out
    return out.rjust(width, "0")


def test_lab_token_digest_is_sha256_of_pem_with_trailing_newline():
    digest = sm.parse_join_token(TOKEN)
    assert digest == sm.ca_digest(LAB_CA_PEM)
    assert digest == sm.ca_digest(LAB_CA_PEM.encode("ascii"))
    assert digest != sm.ca_digest(LAB_CA_PEM.rstrip("\n"))
    # and the token field is that digest in base 36, zero-padded to 50 (as swarmkit writes it)
    assert to_base36(int(hashlib.sha256(LAB_CA_PEM.encode()).hexdigest(), 16), 50) == LAB_DIGEST_FIELD


def test_parse_join_token_v2_and_whitespace():
    assert sm.parse_join_token("  %s\n" % TOKEN) == sm.ca_digest(LAB_CA_PEM)
    v2 = "SWMTKN-2-1-%s-%s" % (LAB_DIGEST_FIELD, FAKE_SECRET)
    assert sm.parse_join_token(v2) == sm.ca_digest(LAB_CA_PEM)


@pytest.mark.parametrize("token,fragment", [
    ("", "empty"),
    (None, "empty"),
    ("XWMTKN-1-%s-%s" % (LAB_DIGEST_FIELD, FAKE_SECRET), "does not start with SWMTKN-"),
    ("SWMTKN-3-%s-%s" % (LAB_DIGEST_FIELD, FAKE_SECRET), "version"),
    ("SWMTKN-1-%s" % LAB_DIGEST_FIELD, "3 dash-separated parts instead of 4"),
    ("SWMTKN-1-%s-%s" % (LAB_DIGEST_FIELD[1:], FAKE_SECRET), "49 characters instead of 50"),
    ("SWMTKN-1-%s-%s" % (LAB_DIGEST_FIELD, FAKE_SECRET + "z"), "26 characters instead of 25"),
    ("SWMTKN-1-%s-%s" % (LAB_DIGEST_FIELD.upper(), FAKE_SECRET), "other than 0-9 and a-z"),
    ("SWMTKN-2-7-%s-%s" % (LAB_DIGEST_FIELD, FAKE_SECRET), "version-2"),
    ("SWMTKN-1-%s-%s" % ("z" * 50, FAKE_SECRET), "too large"),
])
def test_parse_join_token_errors_name_option_and_fix_without_the_token(token, fragment):
    with pytest.raises(ValueError) as err:
        sm.parse_join_token(token)
    text = str(err.value)
    assert text.startswith("join_token")
    assert fragment in text
    assert "docker swarm join-token -q worker" in text
    assert FAKE_SECRET not in text and LAB_DIGEST_FIELD not in text.lower()


def test_scrub_token():
    engine = "rpc error: code = InvalidArgument desc = token %s is bad; secret %s" % (TOKEN, FAKE_SECRET)
    out = sm.scrub_token(engine, TOKEN)
    assert FAKE_SECRET not in out and "SWMTKN-1-0" not in out
    assert sm.HIDDEN in out
    # token-shaped text is removed even when it is not the token given
    assert "SWMTKN" not in sm.scrub_token("bad SWMTKN-1-abc-def here", None)
    assert sm.scrub_token(None, TOKEN) is None


INFO_INACTIVE = {"DockerRootDir": "/var/lib/docker", "Swarm": {"NodeID": "", "LocalNodeState": "inactive", "ControlAvailable": False,
                                                               "RemoteManagers": None}}
INFO_WORKER = {"DockerRootDir": "/srv/docker", "Swarm": {
    "NodeID": "lztyieq6x4seea8l69wwe4ygs", "NodeAddr": "192.168.213.12", "LocalNodeState": "active", "ControlAvailable": False,
    "Error": "", "RemoteManagers": [{"NodeID": "mygzx45up49pq4n5vgkus7plq", "Addr": "192.168.213.11:2377"}]}}
INFO_MANAGER = {"DockerRootDir": "/var/lib/docker", "Swarm": {
    "NodeID": "mygzx45up49pq4n5vgkus7plq", "NodeAddr": "192.168.213.11", "LocalNodeState": "active", "ControlAvailable": True,
    "Error": "", "RemoteManagers": [{"NodeID": "mygzx45up49pq4n5vgkus7plq", "Addr": "192.168.213.11:2377"}],
    "Cluster": {"ID": "czugr852v3tnzmvt5pwqczqc0", "TLSInfo": {"TrustRoot": LAB_CA_PEM}}}}


def test_node_facts():
    assert sm.node_facts(INFO_INACTIVE)["local_state"] == "inactive"
    assert sm.node_facts(INFO_INACTIVE)["role"] is None
    assert sm.node_facts(INFO_INACTIVE)["remote_managers"] == []
    worker = sm.node_facts(INFO_WORKER)
    assert worker["role"] == "worker" and worker["cluster_id"] is None and worker["trust_root"] is None
    assert worker["remote_managers"] == ["192.168.213.11:2377"]
    assert worker["docker_root_dir"] == "/srv/docker"
    manager = sm.node_facts(INFO_MANAGER)
    assert manager["role"] == "manager" and manager["cluster_id"] == "czugr852v3tnzmvt5pwqczqc0"
    assert sm.ca_digest(manager["trust_root"]) == sm.parse_join_token(TOKEN)
    locked = sm.node_facts({"Swarm": {"LocalNodeState": "locked", "ControlAvailable": False}})
    assert locked["role"] == "manager"
    assert sm.node_facts({})["local_state"] == "inactive"


DIGEST = sm.ca_digest(LAB_CA_PEM)


def test_assess_cluster_ca_match_wins():
    res = sm.assess_cluster(DIGEST, DIGEST, ["10.9.9.9:2377"], ["192.168.213.11:2377"])
    assert res["same"] and "root CA digest matches" in res["basis"]


def test_assess_cluster_ca_mismatch_is_other_cluster_even_with_overlap():
    res = sm.assess_cluster(DIGEST, OTHER_DIGEST, ["192.168.213.11:2377"], ["192.168.213.11:2377"])
    assert not res["same"]
    assert "root CA" in res["differences"][0] and "fresh token" in res["differences"][0]


def test_assess_cluster_falls_back_to_manager_overlap():
    assert sm.assess_cluster(DIGEST, None, ["192.168.213.11:2377"], ["192.168.213.11:2377"])["same"]
    res = sm.assess_cluster(DIGEST, None, ["10.0.0.2:2377"], ["192.168.213.11:2377"])
    assert not res["same"]
    assert "10.0.0.2:2377" in res["differences"][0] and "192.168.213.11:2377" in res["differences"][0]


def test_assess_cluster_cluster_id():
    res = sm.assess_cluster(DIGEST, DIGEST, [], [], "otherid", "czugr852v3tnzmvt5pwqczqc0")
    assert not res["same"] and "cluster_id asks for otherid" in res["differences"][0]
    res = sm.assess_cluster(DIGEST, DIGEST, [], [], "czugr852v3tnzmvt5pwqczqc0", "czugr852v3tnzmvt5pwqczqc0")
    assert res["same"] and "cluster ID matches" in res["basis"]
    # a worker has no cluster ID to compare: the option is not evidence against
    assert sm.assess_cluster(DIGEST, DIGEST, [], [], "anything", None)["same"]


def facts(info):
    return sm.node_facts(info)


SAME = dict(same=True, basis="root CA digest matches the join_token", differences=[])
OTHER = dict(same=False, basis="", differences=["root CA: differs"])


def test_plan_present_inactive_joins():
    plan = sm.plan_present(facts(INFO_INACTIVE), "worker", False)
    assert plan["steps"] == [("join", "worker")] and plan["fail"] is None
    assert [sm.action_text(s) for s in plan["steps"]] == ["joined as worker"]


def test_plan_present_same_cluster_same_role_is_noop():
    plan = sm.plan_present(facts(INFO_WORKER), "worker", False, SAME)
    assert plan["steps"] == [] and plan["fail"] is None


def test_plan_present_other_cluster():
    plan = sm.plan_present(facts(INFO_WORKER), "worker", False, OTHER)
    assert plan["steps"] == [] and "another swarm cluster" in plan["fail"] and "force_rejoin: true" in plan["fail"]
    plan = sm.plan_present(facts(INFO_WORKER), "worker", True, OTHER)
    assert plan["steps"] == [("leave", True), ("join", "worker")]
    assert [sm.action_text(s) for s in plan["steps"]] == ["left swarm (force)", "joined as worker"]


def test_plan_present_role_change_needs_promote_or_force_rejoin():
    plan = sm.plan_present(facts(INFO_WORKER), "manager", False, SAME)
    assert "docker node promote lztyieq6x4seea8l69wwe4ygs" in plan["fail"]
    assert "community.docker.docker_node" in plan["fail"]
    plan = sm.plan_present(facts(INFO_MANAGER), "worker", False, SAME)
    assert "docker node demote mygzx45up49pq4n5vgkus7plq" in plan["fail"]
    plan = sm.plan_present(facts(INFO_WORKER), "manager", True, SAME)
    assert plan["steps"] == [("leave", False), ("join", "manager")]
    plan = sm.plan_present(facts(INFO_MANAGER), "worker", True, SAME)
    assert plan["steps"] == [("leave", True), ("join", "worker")]


@pytest.mark.parametrize("state,fragment", [
    ("pending", "a previous swarm join never completed"),
    ("locked", "docker swarm unlock"),
    ("error", "state is 'error' (boom)"),
])
def test_plan_present_odd_states(state, fragment):
    node = facts({"Swarm": {"LocalNodeState": state, "Error": "boom"}})
    plan = sm.plan_present(node, "worker", False)
    assert fragment in plan["fail"] and "force_rejoin: true" in plan["fail"] and plan["steps"] == []
    plan = sm.plan_present(node, "worker", True)
    assert plan["steps"] == [("leave", True), ("join", "worker")] and plan["fail"] is None


def test_plan_absent():
    assert sm.plan_absent(facts(INFO_INACTIVE), False)["steps"] == []
    assert sm.plan_absent(facts(INFO_WORKER), False)["steps"] == [("leave", False)]
    plan = sm.plan_absent(facts(INFO_MANAGER), False)
    assert "force: true" in plan["fail"] and "docker node demote mygzx45up49pq4n5vgkus7plq" in plan["fail"]
    assert sm.plan_absent(facts(INFO_MANAGER), True)["steps"] == [("leave", True)]
    assert sm.plan_absent(facts({"Swarm": {"LocalNodeState": "pending"}}), False)["steps"] == [("leave", True)]
    assert "(locked)" in sm.plan_absent(facts({"Swarm": {"LocalNodeState": "locked"}}), False)["fail"]


def test_summaries_and_diff():
    before = sm.facts_summary(facts(INFO_WORKER))
    assert before == dict(state="present", role="worker", cluster_id=None)
    assert sm.facts_summary(facts(INFO_MANAGER))["cluster_id"] == "czugr852v3tnzmvt5pwqczqc0"
    assert sm.facts_summary(facts(INFO_INACTIVE)) == dict(state="absent", role=None, cluster_id=None)
    assert sm.facts_summary(facts({"Swarm": {"LocalNodeState": "pending"}}))["state"] == "pending"
    after = sm.summarize("present", "manager", "cid")
    assert sm.build_diff(before, after) == dict(before=before, after=after)


@pytest.mark.parametrize("engine,fragment", [
    ("rpc error: code = InvalidArgument desc = A valid join token is necessary to join this cluster", "rejected join_token"),
    ("remote CA does not match fingerprint. Expected: abc", "different swarm"),
    ("Timeout was reached before node joined. The attempt to join the swarm will continue in the background.", "did not complete"),
    ("This node is already part of a swarm.", "already part of a swarm"),
    ("something new", "refused"),
])
def test_classify_join_error(engine, fragment):
    assert fragment in sm.classify_join_error(engine)


def test_manager_with_fellow_managers_demotes_itself_before_leaving():
    info = {"Swarm": dict(INFO_MANAGER["Swarm"], Managers=3)}
    node = facts(info)
    assert node["managers"] == 3
    assert sm.plan_absent(node, True)["steps"] == [("demote",), ("leave", False)]
    assert "force: true" in sm.plan_absent(node, False)["fail"]
    plan = sm.plan_present(node, "worker", True, SAME)
    assert plan["steps"] == [("demote",), ("leave", False), ("join", "worker")]
    assert [sm.action_text(s) for s in plan["steps"]] == ["demoted itself to worker", "left swarm", "joined as worker"]
    plan = sm.plan_present(node, "worker", True, OTHER)
    assert plan["steps"][0] == ("demote",)
    # the last manager has no quorum to keep: a plain forced leave
    assert sm.leave_steps(facts(INFO_MANAGER), True) == [("leave", True)]


def test_scrub_keeps_format_hints():
    hint = "expected SWMTKN-1-<50 base-36 chars>-<25 base-36 chars>; does not start with SWMTKN-"
    assert sm.scrub_token(hint, TOKEN) == hint

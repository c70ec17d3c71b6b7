# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure decisions of swarm_security: unlock keys, locked managers, root CA rotation."""


import pytest

from ansible_collections.swarmnet.overlay.plugins.module_utils import swarm_security as ss

KEY = "SWMKEY-1-" + "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/abcde"  # made up, 43 base64 chars
OLD_ROOT = "-----BEGIN CERTIFICATE-----\nOLD\n-----END CERTIFICATE-----\n"
NEW_ROOT = "-----BEGIN CERTIFICATE-----\nNEW\n-----END CERTIFICATE-----\n"
OLD_ISSUER = dict(CertIssuerSubject="MBMxETAPBgNVBAMTCHN3YXJtLWNh", CertIssuerPublicKey="OLDKEY")
NEW_ISSUER = dict(CertIssuerSubject="MBMxETAPBgNVBAMTCHN3YXJtLWNh", CertIssuerPublicKey="NEWKEY")


def node(name, state="ready", issuer=None, role="worker", root=OLD_ROOT):
    return dict(ID=name + "-id", Spec=dict(Role=role), Status=dict(State=state),
                Description=dict(Hostname=name, TLSInfo=dict(issuer or OLD_ISSUER, TrustRoot=root)))


def swarm(root=OLD_ROOT, issuer=None, in_progress=False, force_rotate=None):
    ca_config = dict(NodeCertExpiry=7776000000000000)
    if force_rotate is not None:
        ca_config["ForceRotate"] = force_rotate
    return dict(
        TLSInfo=dict(issuer or OLD_ISSUER, TrustRoot=root),
        RootRotationInProgress=in_progress,
        Version=dict(Index=42),
        Spec=dict(Name="default", CAConfig=ca_config, EncryptionConfig=dict(AutoLockManagers=True),
                  Orchestration=dict(TaskHistoryRetentionLimit=7)),
    )


# --- unlock key ------------------------------------------------------------------


def test_check_unlock_key_accepts_the_engine_format_and_trims():
    assert ss.check_unlock_key("  %s\n" % KEY) == KEY


@pytest.mark.parametrize("key,fragment", [
    ("", "unlock_key is empty"),
    ("SWMTKN-1-abc", "does not start with SWMKEY-1-"),
    ("SWMKEY-1-short", "characters after SWMKEY-1-"),
    ("SWMKEY-1-" + "a" * 30 + "!" + "b" * 12, "outside base64"),
])
def test_bad_unlock_key_is_explained_without_quoting_it(key, fragment):
    with pytest.raises(ValueError) as err:
        ss.check_unlock_key(key)
    text = str(err.value)
    assert fragment in text and "docker swarm unlock-key -q" in text
    if key:
        assert key not in text


def test_scrub_key_hides_the_key_and_anything_shaped_like_one():
    text = "engine said %s and SWMKEY-1-someOtherKey12345 too" % KEY
    scrubbed = ss.scrub_key(text, KEY)
    assert KEY not in scrubbed and "SWMKEY-1-someOther" not in scrubbed
    assert scrubbed.count(ss.HIDDEN_KEY) == 2
    # Our own hint names the prefix only, and survives.
    assert ss.scrub_key(ss.UNLOCK_KEY_HINT) == ss.UNLOCK_KEY_HINT


@pytest.mark.parametrize("info,action,fragment", [
    (dict(Swarm=dict(LocalNodeState="locked")), "unlock", "locked"),
    (dict(Swarm=dict(LocalNodeState="active", ControlAvailable=True)), "none", "active manager"),
    (dict(Swarm=dict(LocalNodeState="active", ControlAvailable=False)), "none", "active worker"),
    (dict(Swarm=dict(LocalNodeState="inactive")), "none", "state is inactive"),
    ({}, "none", "state is inactive"),
])
def test_plan_unlock_touches_only_locked_nodes(info, action, fragment):
    plan = ss.plan_unlock(info)
    assert plan["action"] == action and fragment in plan["reason"]


def test_wrong_key_message_names_the_node_and_the_fix_without_the_key():
    msg = ss.explain_unlock_error("swarm could not be unlocked: invalid key, %s" % KEY, "node2")
    assert msg.startswith("node2: the engine rejected the unlock key")
    assert "still locked" in msg and "docker swarm unlock-key -q" in msg
    assert KEY not in msg


def test_other_unlock_errors_are_reported_as_they_are():
    msg = ss.explain_unlock_error("This node is not part of a swarm", "node2")
    assert msg == "node2: unlocking failed (engine said: This node is not part of a swarm). The node is still locked"


# --- root CA rotation --------------------------------------------------------------


def test_pem_fingerprint_ignores_outer_whitespace():
    assert ss.pem_fingerprint(OLD_ROOT) == ss.pem_fingerprint("\n" + OLD_ROOT.strip())
    assert ss.pem_fingerprint(OLD_ROOT) != ss.pem_fingerprint(NEW_ROOT)
    assert ss.pem_fingerprint("") is None and len(ss.pem_fingerprint(OLD_ROOT)) == 16


def test_rotation_bumps_force_rotate_and_keeps_the_rest_of_the_spec():
    current = swarm(force_rotate=2)
    plan = ss.plan_ca_rotation(current, [node("a"), node("b")])
    assert plan["action"] == "rotate"
    assert plan["spec"]["CAConfig"]["ForceRotate"] == 3
    # Read-modify-write: autolock and the other settings go back as they are.
    assert plan["spec"]["EncryptionConfig"] == dict(AutoLockManagers=True)
    assert plan["spec"]["Orchestration"] == dict(TaskHistoryRetentionLimit=7)
    assert current["Spec"]["CAConfig"]["ForceRotate"] == 2, "the inspected spec must not be modified"


def test_rotation_from_a_spec_without_force_rotate():
    plan = ss.plan_ca_rotation(swarm(), [node("a")])
    assert plan["spec"]["CAConfig"]["ForceRotate"] == 1


def test_rotation_to_an_operator_ca():
    plan = ss.plan_ca_rotation(swarm(), [node("a")], signing_ca_cert=NEW_ROOT)
    assert plan["action"] == "rotate"
    assert plan["spec"]["CAConfig"]["SigningCACert"] == NEW_ROOT
    assert "ForceRotate" not in plan["spec"]["CAConfig"]


def test_no_rotation_when_the_operator_ca_already_is_the_root():
    plan = ss.plan_ca_rotation(swarm(root=OLD_ROOT), [node("a")], signing_ca_cert=OLD_ROOT.strip())
    assert plan["action"] == "none" and plan["spec"] is None


def test_a_rotation_in_progress_is_waited_for_not_restarted():
    plan = ss.plan_ca_rotation(swarm(in_progress=True), [node("a")])
    assert plan["action"] == "wait" and plan["spec"] is None


def test_a_down_node_refuses_the_rotation_naming_it():
    with pytest.raises(ss.SecurityError) as err:
        ss.plan_ca_rotation(swarm(), [node("a"), node("w2", state="down"), node("w1", state="unknown")])
    msg = err.value.msg
    assert "node(s) w1, w2 are not ready" in msg and "Nothing was changed" in msg
    assert not err.value.changed


def test_progress_counts_reissued_and_pending_nodes():
    nodes = [node("a", issuer=NEW_ISSUER), node("b"), node("c", issuer=NEW_ISSUER)]
    progress = ss.rotation_progress(swarm(root=OLD_ROOT, issuer=NEW_ISSUER, in_progress=True), nodes, OLD_ROOT)
    assert progress == dict(done=False, reissued=["a", "c"], pending=["b"], down=[])


def test_progress_is_done_only_when_the_root_changed_and_no_rotation_is_in_progress():
    nodes = [node("a", issuer=NEW_ISSUER, root=NEW_ROOT), node("b", issuer=NEW_ISSUER, root=NEW_ROOT)]
    assert not ss.rotation_progress(swarm(root=OLD_ROOT, issuer=NEW_ISSUER), nodes, OLD_ROOT)["done"]
    assert not ss.rotation_progress(swarm(root=NEW_ROOT, issuer=NEW_ISSUER, in_progress=True), nodes, OLD_ROOT)["done"]
    assert ss.rotation_progress(swarm(root=NEW_ROOT, issuer=NEW_ISSUER), nodes, OLD_ROOT)["done"]
    # Resuming (old root unknown): the end of the rotation is enough.
    assert ss.rotation_progress(swarm(root=NEW_ROOT, issuer=NEW_ISSUER), nodes, None)["done"]


def test_a_node_with_its_new_certificate_but_the_old_trust_root_is_still_pending():
    """`docker node ls` shows it as TLS status "Needs Rotation": the swarm has ended the rotation, the node has not."""
    nodes = [node("a", issuer=NEW_ISSUER, root=NEW_ROOT), node("b", issuer=NEW_ISSUER, root=OLD_ROOT)]
    progress = ss.rotation_progress(swarm(root=NEW_ROOT, issuer=NEW_ISSUER), nodes, OLD_ROOT)
    assert progress == dict(done=False, reissued=["a"], pending=["b"], down=[])


def test_a_node_down_at_the_end_of_the_rotation_is_not_done():
    nodes = [node("a", issuer=NEW_ISSUER, root=NEW_ROOT), node("b", state="unknown", issuer=NEW_ISSUER, root=NEW_ROOT)]
    progress = ss.rotation_progress(swarm(root=NEW_ROOT, issuer=NEW_ISSUER), nodes, OLD_ROOT)
    assert progress == dict(done=False, reissued=["a", "b"], pending=[], down=["b"])


def test_timeout_message_names_pending_and_down_nodes():
    progress = dict(done=False, reissued=["a"], pending=["b", "c"], down=["c"])
    msg = ss.rotation_timeout_message(progress, 300)
    assert "within 300s" in msg and "1 node(s) have their new certificate" in msg
    assert "still waiting for b, c" in msg and "node(s) c are down" in msg

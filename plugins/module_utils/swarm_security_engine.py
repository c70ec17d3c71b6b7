# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Swarm security actions through the Docker SDK: unlock a manager, rotate the root CA.

Decisions come from swarm_security.py (pure); this file only reads the engine,
applies a plan and waits. Calls exist in docker SDK 5.0.3 (Debian 12's).
The swarm spec is updated read-modify-write: the Engine replaces the whole
spec on update, so a partial spec would reset autolock and other settings.
"""


import time

from ansible_collections.swarmnet.overlay.plugins.module_utils.docker_client import APIError, DockerException, api_error_text
from ansible_collections.swarmnet.overlay.plugins.module_utils.swarm_security import (
    SecurityError,
    explain_unlock_error,
    pem_fingerprint,
    plan_ca_rotation,
    plan_unlock,
    rotation_progress,
    rotation_timeout_message,
    scrub_key,
)


def unlock(module, client, key, node_name, settle_seconds=60):
    """Unlock this manager when it is locked; returns the module result (no key in it)."""
    plan = plan_unlock(client.info())
    before = dict(state=plan["state"])
    if plan["action"] == "none":
        return dict(changed=False, state=plan["state"], reason=plan["reason"], diff=dict(before=before, after=before))
    after = dict(state="active")
    if module.check_mode:
        return dict(changed=True, state=plan["state"], reason=plan["reason"], diff=dict(before=before, after=after))
    try:
        client.api.unlock_swarm(key)
    except (APIError, DockerException) as exc:
        raise SecurityError(explain_unlock_error(scrub_key(api_error_text(exc), key), node_name))
    # The manager rejoins raft after the unlock; wait until it serves the control plane again.
    deadline = time.time() + settle_seconds
    swarm = {}
    while time.time() < deadline:
        swarm = client.info().get("Swarm") or {}
        if swarm.get("LocalNodeState") == "active" and swarm.get("ControlAvailable"):
            break
        time.sleep(1)
    else:
        raise SecurityError(
            "%s: unlocked, but it is not an active manager after %ds (state %s)"
            % (node_name, settle_seconds, swarm.get("LocalNodeState")), changed=True)
    return dict(changed=True, state="active", reason=plan["reason"], diff=dict(before=before, after=after))


def _read(client):
    return client.api.inspect_swarm(), client.api.nodes()


def _start_rotation(client, swarm, spec, old_root, operator_ca, attempts=3):
    """Update the spec so that a rotation starts; bump ForceRotate again when the swarm did not start one.

    swarmkit rotates when ForceRotate differs from the last forced rotation it
    made, which the Engine API does not show: a spec reset by a partial update
    (ForceRotate back to 0) can make ForceRotate + 1 equal to it.
    """
    for _attempt in range(attempts):
        try:
            client.api.update_swarm(version=swarm["Version"]["Index"], swarm_spec=spec)
        except (APIError, DockerException) as exc:
            raise SecurityError("the swarm refused the root CA rotation: %s. Nothing was changed" % api_error_text(exc))
        swarm = client.api.inspect_swarm()
        root = (swarm.get("TLSInfo") or {}).get("TrustRoot")
        if operator_ca or swarm.get("RootRotationInProgress") or pem_fingerprint(root) != pem_fingerprint(old_root):
            return
        spec = dict(swarm["Spec"])
        spec["CAConfig"] = dict(spec.get("CAConfig") or {}, ForceRotate=int((spec.get("CAConfig") or {}).get("ForceRotate") or 0) + 1)
    raise SecurityError("the swarm accepted the CA update but started no rotation after %d tries" % attempts, changed=True)


def rotate_ca(module, client, signing_ca_cert=None, signing_ca_key=None, wait_timeout=300, poll_seconds=2):
    """Rotate the swarm's root CA and wait until every node holds a certificate from the new one."""
    swarm, nodes = _read(client)
    old_root = (swarm.get("TLSInfo") or {}).get("TrustRoot")
    plan = plan_ca_rotation(swarm, nodes, signing_ca_cert)
    before = dict(root_ca_fingerprint=pem_fingerprint(old_root))
    result = dict(changed=False, reason=plan["reason"], nodes_total=len(nodes), nodes_reissued=0, seconds=0.0,
                  root_ca_fingerprint=before["root_ca_fingerprint"])
    if plan["action"] == "none":
        result["diff"] = dict(before=before, after=before)
        return result
    if plan["action"] == "rotate":
        after = dict(root_ca_fingerprint=pem_fingerprint(signing_ca_cert) if signing_ca_cert else "(new, made by the swarm)")
        result.update(changed=True, diff=dict(before=before, after=after))
        if module.check_mode:
            result["nodes_reissued"] = len(nodes)
            return result
        spec = plan["spec"]
        if signing_ca_key:
            spec["CAConfig"]["SigningCAKey"] = signing_ca_key
        _start_rotation(client, swarm, spec, old_root, bool(signing_ca_cert))
    elif module.check_mode:
        return result
    started = time.time()
    deadline = started + wait_timeout
    while True:
        swarm, nodes = _read(client)
        # When resuming an unfinished rotation the root it started from is unknown: wait for the end only.
        progress = rotation_progress(swarm, nodes, old_root if plan["action"] == "rotate" else None)
        if progress["done"]:
            break
        if time.time() >= deadline:
            raise SecurityError(rotation_timeout_message(progress, wait_timeout), changed=result["changed"])
        time.sleep(poll_seconds)
    result.update(
        changed=True,
        nodes_total=len(nodes),
        nodes_reissued=len(progress["reissued"]),
        reissued=progress["reissued"],
        seconds=round(time.time() - started, 1),
        root_ca_fingerprint=pem_fingerprint((swarm.get("TLSInfo") or {}).get("TrustRoot")),
    )
    result.setdefault("diff", dict(before=before, after=dict(root_ca_fingerprint=result["root_ca_fingerprint"])))
    return result


def exit_with(module, action, *args):
    """Run unlock or rotate_ca for a module and end it: its result (diff only with --diff), or its SecurityError."""
    try:
        result = action(module, *args)
    except SecurityError as exc:
        module.fail_json(msg=exc.msg, changed=exc.changed)
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)

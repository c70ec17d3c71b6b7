# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Swarm security decisions, pure: unlock keys, locked managers, root CA rotation.

Nothing here talks to Docker, the network or files, so unit tests cover every
decision. swarm_security_engine.py applies them through the Docker SDK.

Shapes read here are the Engine API's: ``docker info`` (``Swarm.LocalNodeState``,
``Swarm.ControlAvailable``), ``GET /swarm`` (``TLSInfo``, ``RootRotationInProgress``,
``Spec``, ``Version``) and ``GET /nodes`` (``Description.TLSInfo``, ``Status.State``).
"""


import copy
import hashlib
import re

UNLOCK_KEY_PREFIX = "SWMKEY-1-"
UNLOCK_KEY_HINT = (
    "use the whole key printed by `docker swarm unlock-key -q` on an unlocked manager "
    "(it starts with %s)" % UNLOCK_KEY_PREFIX
)
HIDDEN_KEY = "<unlock key hidden>"
# Anything shaped like an unlock key, even a damaged one, is scrubbed from text we emit.
_KEY_LIKE_RE = re.compile(r"SWMKEY-[0-9A-Za-z]+-[0-9A-Za-z+/=_-]{4,}")


class SecurityError(Exception):
    """A failure to report as the module's msg (never contains a key)."""

    def __init__(self, msg, changed=False):
        super(SecurityError, self).__init__(msg)
        self.msg = msg
        self.changed = changed


# --- unlock key ----------------------------------------------------------------


def scrub_key(text, key=None):
    """Remove an unlock key (and anything shaped like one) from text."""
    text = "" if text is None else str(text)
    if key and key.strip():
        text = text.replace(key.strip(), HIDDEN_KEY)
    return _KEY_LIKE_RE.sub(HIDDEN_KEY, text)


def check_unlock_key(key):
    """Raise ValueError (without quoting the key) unless key looks like a swarm unlock key.

    swarmkit encodes keys as ``SWMKEY-1-`` followed by the base64 (raw, standard
    alphabet) of a 32-byte secret: 43 characters.
    """
    if not isinstance(key, str) or not key.strip():
        raise ValueError("unlock_key is empty: %s" % UNLOCK_KEY_HINT)
    text = key.strip()
    if not text.startswith(UNLOCK_KEY_PREFIX):
        raise ValueError("unlock_key does not start with %s: %s" % (UNLOCK_KEY_PREFIX, UNLOCK_KEY_HINT))
    secret = text[len(UNLOCK_KEY_PREFIX):]
    if not re.match(r"^[0-9A-Za-z+/]{20,}=*$", secret):
        raise ValueError(
            "unlock_key has %d characters after %s, or characters outside base64: %s"
            % (len(secret), UNLOCK_KEY_PREFIX, UNLOCK_KEY_HINT)
        )
    return text


def plan_unlock(info):
    """Decide what to do for the node whose ``docker info`` is info.

    Returns dict(action='unlock'|'none', state=LocalNodeState, reason=text).
    """
    swarm = (info or {}).get("Swarm") or {}
    state = swarm.get("LocalNodeState") or "inactive"
    if state == "locked":
        return dict(action="unlock", state=state, reason="this manager is locked (autolock): its raft data needs the unlock key")
    if state == "active":
        kind = "manager" if swarm.get("ControlAvailable") else "worker"
        return dict(action="none", state=state, reason="not locked: this node is an active %s" % kind)
    return dict(action="none", state=state, reason="not locked: this node's swarm state is %s" % state)


def explain_unlock_error(engine_text, node):
    """A clear failure message for a refused unlock, from the engine's (scrubbed) text."""
    text = scrub_key(engine_text)
    if "invalid key" in text.lower() or "could not be unlocked" in text.lower():
        return (
            "%s: the engine rejected the unlock key: it is not the key this manager's raft data is encrypted with "
            "(engine said: %s). The node is still locked and nothing changed. Fix: use the current key (an unlocked "
            "manager prints it with `docker swarm unlock-key -q`); after a key rotation, a manager that was down "
            "during it may still need the previous key" % (node, text)
        )
    return "%s: unlocking failed (engine said: %s). The node is still locked" % (node, text)


# --- root CA rotation ----------------------------------------------------------


def pem_fingerprint(pem):
    """Short SHA-256 fingerprint of a PEM text (whitespace at the ends ignored), or None."""
    if not pem or not str(pem).strip():
        return None
    return hashlib.sha256(str(pem).strip().encode("utf-8")).hexdigest()[:16]


def _tls(tls_info):
    """(issuer subject, issuer public key, trust root fingerprint) of a TLSInfo."""
    tls_info = tls_info or {}
    return (tls_info.get("CertIssuerSubject") or "", tls_info.get("CertIssuerPublicKey") or "",
            pem_fingerprint(tls_info.get("TrustRoot")))


def node_summary(node):
    """Hostname, state, role and TLS status (issuer, trust root) of a node from GET /nodes."""
    description = node.get("Description") or {}
    return dict(
        id=node.get("ID"),
        hostname=description.get("Hostname") or node.get("ID"),
        state=(node.get("Status") or {}).get("State") or "unknown",
        role=(node.get("Spec") or {}).get("Role") or "unknown",
        tls=_tls(description.get("TLSInfo")),
    )


def nodes_down(nodes):
    """Hostnames of the nodes that are not ready (they cannot take a new certificate)."""
    return sorted(n["hostname"] for n in map(node_summary, nodes) if n["state"] != "ready")


def plan_ca_rotation(swarm, nodes, signing_ca_cert=None):
    """Decide a root CA rotation from GET /swarm and GET /nodes.

    Returns dict(action='rotate'|'wait'|'none', spec=new spec or None, reason, down=[hostnames]).
    Raises SecurityError when a node is down (it could not take its new
    certificate, so the rotation would never finish): nothing is changed then.
    """
    down = nodes_down(nodes)
    if down:
        raise SecurityError(
            "cannot rotate the swarm's root CA: node(s) %s are not ready, so they could not take a certificate "
            "from the new CA and the rotation would never finish. Nothing was changed. Fix: start their engine "
            "(or reboot them) until `docker node ls` shows them Ready, or remove them from the swarm "
            "(playbooks/node_remove.yml), then run again" % ", ".join(down)
        )
    if swarm.get("RootRotationInProgress"):
        return dict(action="wait", spec=None, down=[], reason="a root CA rotation is already in progress: waiting for it")
    current_root = (swarm.get("TLSInfo") or {}).get("TrustRoot")
    spec = copy.deepcopy(swarm.get("Spec") or {})
    ca_config = spec.setdefault("CAConfig", {})
    if signing_ca_cert:
        if pem_fingerprint(signing_ca_cert) == pem_fingerprint(current_root):
            return dict(action="none", spec=None, down=[], reason="the swarm's root CA already is signing_ca_cert")
        ca_config["SigningCACert"] = signing_ca_cert
        reason = "rotate the root CA to signing_ca_cert (fingerprint %s)" % pem_fingerprint(signing_ca_cert)
    else:
        ca_config["ForceRotate"] = int(ca_config.get("ForceRotate") or 0) + 1
        reason = "rotate the root CA to a new one that the swarm generates (ForceRotate %d)" % ca_config["ForceRotate"]
    return dict(action="rotate", spec=spec, down=[], reason=reason)


def rotation_progress(swarm, nodes, old_root):
    """How far a root CA rotation is: dict(done, reissued=[hostnames], pending=[hostnames], down=[hostnames]).

    A node is reissued when its TLS status is what `docker node ls` shows as
    Ready: its certificate's issuer AND the root it trusts are the swarm's
    (the CLI compares the whole TLSInfo). A node whose certificate is new but
    that still reports the old trust root has not taken the end of the
    rotation yet ("Needs Rotation"). Done when the swarm no longer reports a
    rotation in progress, its trust root is not old_root any more, and every
    node is reissued and ready.
    """
    wanted = _tls(swarm.get("TLSInfo"))
    reissued, pending = [], []
    for node in map(node_summary, nodes):
        (reissued if node["tls"] == wanted else pending).append(node["hostname"])
    down = nodes_down(nodes)
    root = (swarm.get("TLSInfo") or {}).get("TrustRoot")
    done = (
        not swarm.get("RootRotationInProgress")
        and pem_fingerprint(root) != pem_fingerprint(old_root)
        and not pending
        and not down
    )
    return dict(done=done, reissued=sorted(reissued), pending=sorted(pending), down=down)


def rotation_timeout_message(progress, timeout):
    """Why a rotation did not finish in time, naming the nodes."""
    msg = "the root CA rotation did not finish within %ds: %d node(s) have their new certificate, still waiting for %s" % (
        timeout, len(progress["reissued"]), ", ".join(progress["pending"]) or "the swarm to switch its trust root")
    if progress["down"]:
        msg += "; node(s) %s are down and cannot take a new certificate until they are back (or removed)" % ", ".join(progress["down"])
    return msg + ". The rotation goes on in the swarm; run again to keep waiting"

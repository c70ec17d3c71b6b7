# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Swarm membership of the node a task runs on: decide, then join or leave.

The first half of this file is pure (no Docker, no network, no files) so that
unit tests cover every decision: token parsing, the cluster-identity evidence,
the plan and the diff. The second half, SwarmMembership, applies a plan
through the Docker SDK (calls that exist in docker SDK 5.0.3, Debian 12's).

Why two pieces of evidence for "same cluster": a swarm join token carries the
SHA-256 digest of the cluster's root CA certificate (swarmkit's
GenerateJoinToken: ``SWMTKN-1-<digest as a base-36 integer, zero-padded to 50
chars>-<secret, base 36, 25 chars>``), and every node keeps that root CA at
``<DockerRootDir>/swarm/certificates/swarm-root-ca.crt``. The digest is taken
over the PEM file's exact bytes, as swarmkit stores them (checked on a real
swarm: the file, and a manager's ``TLSInfo.TrustRoot``, hash to the token's
digest as they are, trailing newline included). When the CA cannot be read
(e.g. docker_host points at another machine) the node's known managers
(``Swarm.RemoteManagers``) overlapping with ``remote_addrs`` is the fallback.
"""

import hashlib
import os
import re
import time

from ansible_collections.swarmnet.overlay.plugins.module_utils.docker_client import (
    DockerException,
    RequestException,
    api_error_text,
)
from ansible_collections.swarmnet.overlay.plugins.module_utils.node_addresses import (
    AddressError,
    addresses_overlap,
    check_tcp_reachable,
    classify_node_address,
    node_interfaces,
    parse_remote_addr,
    resolve_node_address,
    resolve_remote_endpoints,
    unreachable_message,
)

BASE36_DIGEST_LEN = 50
SECRET_LEN = 25
TOKEN_HINT = (
    "copy the whole current token printed by `docker swarm join-token -q worker` "
    "(or `manager`) on a manager of the swarm"
)
# Anything shaped like a token, even a damaged one: scrubbed from all text we emit.
# (Our own format hints such as "SWMTKN-1-<50 ...>" do not match: they have no token characters after "1-".)
_TOKEN_LIKE_RE = re.compile(r"SWMTKN-[0-9A-Za-z]+-[0-9A-Za-z-]{5,}")
HIDDEN = "<join_token hidden>"

LOCAL_STATES = ("inactive", "pending", "active", "error", "locked")


class MembershipError(Exception):
    """A failure to report as the module's msg (never contains the token)."""

    def __init__(self, msg, changed=False, actions=None):
        super(MembershipError, self).__init__(msg)
        self.msg = msg
        self.changed = changed
        self.actions = list(actions or [])


# --- join token -------------------------------------------------------------


def parse_join_token(token):
    """Check a join token's shape and return its root-CA digest as 64 hex chars (pure).

    Accepts v1 ``SWMTKN-1-<50>-<25>`` and swarmkit's v2 (FIPS clusters)
    ``SWMTKN-2-<0|1>-<50>-<25>``, parts in lowercase base 36, as swarmkit's
    ParseJoinToken does. Raises ValueError whose text describes what is wrong
    without quoting any part of the token.
    """
    if not isinstance(token, str) or not token.strip():
        raise ValueError("join_token is empty: %s" % TOKEN_HINT)
    text = token.strip()
    parts = text.split("-")
    problem = None
    if parts[0] != "SWMTKN":
        problem = "it does not start with SWMTKN-"
    elif len(parts) < 2 or parts[1] not in ("1", "2"):
        problem = "its version (after SWMTKN-) is not 1 or 2"
    elif parts[1] == "1" and len(parts) != 4:
        problem = "it has %d dash-separated parts instead of 4" % len(parts)
    elif parts[1] == "2" and (len(parts) != 5 or parts[2] not in ("0", "1")):
        problem = "it is not a valid version-2 token (SWMTKN-2-<0|1>-<digest>-<secret>)"
    else:
        digest_part, secret_part = parts[-2], parts[-1]
        if len(digest_part) != BASE36_DIGEST_LEN:
            problem = "its CA digest part has %d characters instead of %d" % (len(digest_part), BASE36_DIGEST_LEN)
        elif len(secret_part) != SECRET_LEN:
            problem = "its secret part has %d characters instead of %d" % (len(secret_part), SECRET_LEN)
        elif not re.match(r"^[0-9a-z]+$", digest_part + secret_part):
            problem = "it contains characters other than 0-9 and a-z"
    if problem:
        raise ValueError(
            "join_token does not look like a swarm join token (SWMTKN-1-<50 base-36 chars>-<25 base-36 chars>): %s. Fix: %s"
            % (problem, TOKEN_HINT)
        )
    digest = int(parts[-2], 36)
    if digest >= 1 << 256:
        raise ValueError("join_token's CA digest part is too large for a SHA-256 digest. Fix: %s" % TOKEN_HINT)
    return "%064x" % digest


def ca_digest(pem):
    """SHA-256 hex digest of a root CA PEM exactly as given (str or bytes) (pure)."""
    if pem is None:
        return None
    if not isinstance(pem, bytes):
        pem = pem.encode("utf-8")
    return hashlib.sha256(pem).hexdigest()


def scrub_token(text, token=None):
    """Remove the join token (and anything token-shaped) from ``text`` (pure)."""
    if text is None:
        return text
    text = str(text)
    if token:
        stripped = token.strip()
        for secret in (token, stripped) + tuple(p for p in stripped.split("-") if len(p) >= 20):
            if secret:
                text = text.replace(secret, HIDDEN)
    return _TOKEN_LIKE_RE.sub(HIDDEN, text)


# --- what the engine says about the node -------------------------------------


def node_facts(info):
    """Summarise ``client.info()`` into what decisions need (pure).

    Keys: local_state, node_id, role (manager/worker/None), control_available,
    cluster_id (managers only: Docker exposes it only there), trust_root (PEM,
    managers only), remote_managers (list of 'ip:port'), node_addr, managers
    (count, managers only), error, docker_root_dir.
    """
    swarm = (info or {}).get("Swarm") or {}
    local = swarm.get("LocalNodeState") or "inactive"
    control = bool(swarm.get("ControlAvailable"))
    cluster = swarm.get("Cluster") or {}
    role = None
    if local == "active":
        role = "manager" if control else "worker"
    elif local == "locked":
        role = "manager"  # only managers can be locked (autolock protects the raft keys)
    return dict(
        local_state=local,
        node_id=swarm.get("NodeID") or None,
        role=role,
        control_available=control,
        cluster_id=cluster.get("ID") or None,
        trust_root=(cluster.get("TLSInfo") or {}).get("TrustRoot") or None,
        remote_managers=[m.get("Addr") for m in (swarm.get("RemoteManagers") or []) if m.get("Addr")],
        node_addr=swarm.get("NodeAddr") or None,
        managers=swarm.get("Managers") or 0,
        error=swarm.get("Error") or None,
        docker_root_dir=(info or {}).get("DockerRootDir") or "/var/lib/docker",
    )


def assess_cluster(token_digest, node_digest, requested_endpoints, remote_managers, wanted_cluster_id=None, node_cluster_id=None):
    """Is the node already in the cluster the token and remote_addrs point at? (pure)

    Returns dict(same=bool, basis=str, differences=[str]). Rules: a cluster ID
    mismatch (managers only) or a root CA digest mismatch means another
    cluster; a CA match means the same one; with no CA to compare, the node's
    known managers overlapping with remote_addrs decides.
    """
    differences = []
    basis = []
    if wanted_cluster_id and node_cluster_id:
        if wanted_cluster_id != node_cluster_id:
            differences.append("cluster ID: this node is in cluster %s, cluster_id asks for %s" % (node_cluster_id, wanted_cluster_id))
        else:
            basis.append("cluster ID matches")
    overlap = addresses_overlap(requested_endpoints, remote_managers)
    if node_digest:
        if node_digest != token_digest:
            differences.append(
                "root CA: this node trusts a root CA with SHA-256 %s..., the join_token is for a root CA with SHA-256 %s... "
                "(if the swarm's CA was rotated, fetch a fresh token)" % (node_digest[:12], token_digest[:12])
            )
            if not overlap:
                differences.append(
                    "managers: this node's managers are %s, remote_addrs are %s"
                    % (", ".join(remote_managers) or "unknown", ", ".join(requested_endpoints) or "unresolved")
                )
        else:
            basis.append("root CA digest matches the join_token")
    elif overlap:
        basis.append("root CA not readable; remote_addrs overlap this node's managers (%s)" % ", ".join(overlap))
    else:
        differences.append(
            "managers: none of remote_addrs (%s) is among this node's managers (%s), and the root CA could not be read to compare"
            % (", ".join(requested_endpoints) or "none resolved", ", ".join(remote_managers) or "none known")
        )
    if differences:
        return dict(same=False, basis="; ".join(basis), differences=differences)
    return dict(same=True, basis="; ".join(basis), differences=[])


def summarize(state, role, cluster_id):
    """The {state, role, cluster_id} dict used in diff output (pure)."""
    return dict(state=state, role=role, cluster_id=cluster_id)


def facts_summary(facts, cluster_id=None):
    """Diff-side view of node_facts(): present/absent or the odd local state (pure)."""
    local = facts["local_state"]
    state = {"active": "present", "inactive": "absent"}.get(local, local)
    return summarize(state, facts["role"], facts["cluster_id"] or cluster_id)


def build_diff(before, after):
    """Ansible diff dict from two summaries (pure)."""
    return dict(before=dict(before), after=dict(after))


QUORUM_HINT = (
    "run the runbook playbooks/recover_quorum.yml with recover_quorum_survivor=<a surviving manager> "
    "(docker swarm init --force-new-cluster there, then the other managers rejoin)"
)


def is_no_leader_error(text):
    """Does an engine error say that the managers have no raft leader (lost quorum)? (pure)"""
    low = (text or "").lower()
    return "does not have a leader" in low or "no leader" in low or "deadlineexceeded" in low.replace(" ", "") \
        or "context deadline exceeded" in low


def leave_steps(facts, force, quorum=True):
    """How an active node leaves (pure): a manager with fellow managers demotes itself first.

    Demoting through its own API before leaving keeps the remaining managers'
    raft quorum; a forced leave alone leaves a dead member behind (seen in the
    lab: 2 managers, one left with force, the other lost quorum). Without a
    quorum a demotion cannot be committed, so force leaves without it.
    """
    if facts["local_state"] == "active" and facts["role"] == "manager" and facts.get("managers", 0) > 1 and quorum:
        return [("demote",), ("leave", False)]
    return [("leave", bool(force) or not quorum)]


def action_text(step):
    """Human text for one plan step (pure)."""
    if step[0] == "demote":
        return "demoted itself to worker"
    if step[0] == "leave":
        return "left swarm (force)" if step[1] else "left swarm"
    return "joined as %s" % step[1]


def plan_present(facts, role, force_rejoin, cluster=None, quorum=True):
    """Steps to reach state=present with ``role`` (pure).

    ``cluster`` is assess_cluster()'s result (needed only when the node is
    active). Returns dict(steps=[('leave', force) | ('join', role)], fail=msg
    or None, reason=str).
    """
    local = facts["local_state"]
    join = ("join", role)
    rejoin_hint = "Set force_rejoin: true to make this node leave (force) and join again with the given join_token"
    if local == "inactive":
        return dict(steps=[join], fail=None, reason="node is not in a swarm")
    if local == "pending":
        if force_rejoin:
            return dict(steps=[("leave", True), join], fail=None, reason="a previous join never completed (state pending)")
        return dict(
            steps=[], reason="pending",
            fail="this node is in state 'pending': a previous swarm join never completed (often an unreachable manager%s). %s"
                 % ("; engine: " + facts["error"] if facts.get("error") else "", rejoin_hint),
        )
    if local == "locked":
        if force_rejoin:
            return dict(steps=[("leave", True), join], fail=None, reason="node is a locked manager")
        return dict(
            steps=[], reason="locked",
            fail="this node is a locked swarm manager (autolock): unlock it with `docker swarm unlock` and the key from "
                 "`docker swarm unlock-key` on another manager. Or: %s" % rejoin_hint,
        )
    if local == "error":
        if force_rejoin:
            return dict(steps=[("leave", True), join], fail=None, reason="node swarm state is 'error'")
        return dict(
            steps=[], reason="error",
            fail="this node's swarm state is 'error' (%s). %s" % (facts.get("error") or "no detail from the engine", rejoin_hint),
        )
    # active
    if not cluster["same"]:
        if force_rejoin:
            return dict(steps=leave_steps(facts, True, quorum) + [join], fail=None, reason="node is in another cluster")
        return dict(
            steps=[], reason="other cluster",
            fail="this node is already in another swarm cluster (%s). %s" % ("; ".join(cluster["differences"]), rejoin_hint),
        )
    if facts["role"] == role:
        return dict(steps=[], fail=None, reason="already in this cluster as %s (%s)" % (role, cluster["basis"]))
    if force_rejoin:
        return dict(steps=leave_steps(facts, facts["role"] == "manager", quorum) + [join], fail=None,
                    reason="role %s -> %s by rejoining" % (facts["role"], role))
    verb = "promote" if role == "manager" else "demote"
    return dict(
        steps=[], reason="role",
        fail="this node is already in this swarm as a %s, but role: %s was asked. A node cannot change its own role: "
             "run `docker node %s %s` on a manager (or use community.docker.docker_node with role: %s), "
             "or set force_rejoin: true to leave and join again as %s (the managers keep the old node entry as Down)"
             % (facts["role"], role, verb, facts["node_id"] or "NODE", role, role),
    )


def plan_absent(facts, force, quorum=True):
    """Steps to reach state=absent (pure). Same shape as plan_present().

    ``quorum`` is False when this manager's swarm has no raft leader.
    """
    local = facts["local_state"]
    if local == "inactive":
        return dict(steps=[], fail=None, reason="node is not in a swarm")
    if local == "pending":
        # A pending node holds no raft state: forcing is safe and needed to stop the join loop.
        return dict(steps=[("leave", True)], fail=None, reason="cancel a pending join")
    if facts["role"] == "manager" and not force and not quorum:
        return dict(
            steps=[], reason="no quorum",
            fail="this node is a manager of a swarm that has lost its quorum (no leader: too few managers are up), so it "
                 "cannot be demoted. To get the swarm back, %s. To take only this node out, set force: true (it leaves "
                 "without demoting; its entry stays in the swarm as a Down manager)" % QUORUM_HINT,
        )
    if facts["role"] == "manager" and not force:
        return dict(
            steps=[], reason="manager",
            fail="this node is a swarm manager%s: leaving can break the managers' quorum. Demote it first "
                 "(`docker node demote %s` on another manager) or set force: true"
                 % (" (locked)" if local == "locked" else "", facts["node_id"] or "NODE"),
        )
    return dict(steps=leave_steps(facts, force, quorum), fail=None,
                reason="leave the swarm" if quorum else "leave the swarm without demoting (no quorum)")


def classify_join_error(text):
    """Explain an engine error from /swarm/join (text already scrubbed) (pure)."""
    low = text.lower()
    if "valid join token is necessary" in low or "invalid join token" in low:
        return (
            "the manager rejected join_token: it is not a current join token of that swarm (wrong, rotated, "
            "or from another swarm). Fix: %s" % TOKEN_HINT
        )
    if "remote ca does not match fingerprint" in low:
        return (
            "join_token belongs to a different swarm than the manager at remote_addrs (the manager's root CA does not "
            "match the digest in the token): use a token from that swarm, or the managers of the token's swarm"
        )
    if "timeout was reached before node joined" in low:
        return (
            "the join did not complete in time: the manager could be reached on TCP but the join did not finish "
            "(check the ports 2377/tcp, 7946/tcp+udp and 4789/udp between the nodes)"
        )
    if "did not answer" in low:
        return (
            "the Docker engine gave no answer in time while joining (it may still be trying: the node is checked and "
            "made to leave a half-done join below); check the engine (`systemctl status docker`) and the managers, then run again"
        )
    if "already part of a swarm" in low:
        return "the engine says this node is already part of a swarm (it changed while the task ran): run the task again"
    return "the Docker engine refused to join the swarm"


# --- applying a plan through the Docker SDK -----------------------------------


class SwarmMembership(object):
    """Reads the node's swarm state and applies join/leave plans.

    ``module`` is an AnsibleModule with this module's params; ``client`` a
    docker.DockerClient from docker_client.get_docker_client() (it may be set
    later, after check_input(), so that bad input fails before Docker is asked).
    """

    connect_timeout = 3.0
    role_settle_seconds = 15

    def __init__(self, module, client=None):
        self.module = module
        self.client = client
        self.params = module.params
        self.token = self.params.get("join_token")
        self.token_digest = None
        self.remotes = []
        self.addresses = {}
        self.resolved = {}

    # reading -----------------------------------------------------------------

    def info(self):
        try:
            return self.client.info()
        except (DockerException, RequestException) as exc:
            raise MembershipError("cannot read the Docker engine's info: %s" % scrub_token(api_error_text(exc), self.token))

    def has_quorum(self, facts):
        """False when this node is a manager among several and its swarm has no raft leader.

        Only a leader answers the node list; the engine says "does not have a
        leader" (or times out in an election) when too few managers are up.
        """
        if facts["local_state"] != "active" or facts["role"] != "manager":
            return True
        if is_no_leader_error(facts.get("error")):
            # What `docker info` says (Swarm.Error) once the managers lost their leader; it then counts 0 managers.
            return False
        if facts.get("managers", 0) <= 1 and len(facts.get("remote_managers") or []) <= 1:
            return True
        try:
            self.client.api.nodes()
        except (DockerException, RequestException) as exc:
            if is_no_leader_error(api_error_text(exc)):
                return False
            raise MembershipError("cannot list the swarm's nodes on this manager: %s" % scrub_token(api_error_text(exc), self.token))
        return True

    def node_ca_digest(self, facts):
        """Digest of the root CA this node trusts, or None when it cannot be read."""
        if facts["trust_root"]:
            return ca_digest(facts["trust_root"])
        host = self.params.get("docker_host") or ""
        if not host.startswith("unix://"):
            # The file lives on the engine's machine; with a remote engine we cannot read it here.
            return None
        path = os.path.join(facts["docker_root_dir"], "swarm", "certificates", "swarm-root-ca.crt")
        try:
            with open(path, "rb") as handle:
                return ca_digest(handle.read())
        except (IOError, OSError):
            return None

    # validation --------------------------------------------------------------

    def validate_local_addresses(self):
        """Parse advertise/listen/data_path values and check interfaces; returns engine-ready values."""
        specs = [
            ("listen_addr", dict(default_port=2377, allow_port=True)),
            ("advertise_addr", dict(default_port=None, allow_port=True)),
            ("data_path_addr", dict(default_port=None, allow_port=False)),
        ]
        parsed = {}
        for option, kwargs in specs:
            value = self.params.get(option)
            if value is None:
                continue
            try:
                parsed[option] = classify_node_address(option, value, **kwargs)
            except AddressError as exc:
                raise MembershipError(str(exc))
        if any(p["kind"] == "interface" for p in parsed.values()):
            interfaces = node_interfaces(self.module.run_command, self.module.get_bin_path("ip"))
        else:
            interfaces = {}
        resolved = {}
        for option, item in parsed.items():
            try:
                resolved[option] = resolve_node_address(option, item, interfaces)
            except AddressError as exc:
                raise MembershipError(str(exc))
        return dict((k, v["value"]) for k, v in parsed.items()), resolved

    def parse_remotes(self):
        remotes = []
        for value in self.params.get("remote_addrs") or []:
            try:
                remotes.append(parse_remote_addr(value))
            except AddressError as exc:
                raise MembershipError(str(exc))
        if not remotes:
            raise MembershipError("remote_addrs is empty: list at least one manager address, e.g. ['10.0.0.2:2377']")
        return remotes

    def check_reachable(self, remotes):
        """TCP-connect each manager; fail when none answers, warn about those that do not."""
        problems = []
        reachable = []
        for host, port, text in remotes:
            reason = check_tcp_reachable(host, port, self.connect_timeout)
            if reason is None:
                reachable.append(text)
            else:
                problems.append(unreachable_message(text, reason))
        if not reachable:
            raise MembershipError("; ".join(problems) + ". Nothing was changed on this node.")
        for problem in problems:
            self.module.warn(problem + "; joining through the managers that answered")
        return reachable

    # acting ------------------------------------------------------------------

    def leave(self, force):
        try:
            self.client.swarm.leave(force=force)
        except (DockerException, RequestException) as exc:
            text = scrub_token(api_error_text(exc), self.token)
            hint = "" if force else " (set force: true to leave as a manager)"
            raise MembershipError("leaving the swarm failed: %s%s" % (text, hint))

    def demote_self(self, node_id):
        """Demote this manager through its own API, then wait until it runs as a worker."""
        try:
            node = self.client.api.inspect_node(node_id)
            spec = dict(node["Spec"])
            spec["Role"] = "worker"
            self.client.api.update_node(node_id, node["Version"]["Index"], spec)
        except (DockerException, RequestException) as exc:
            text = scrub_token(api_error_text(exc), self.token)
            if is_no_leader_error(text):
                raise MembershipError(
                    "demoting this manager before it leaves failed: the swarm has no leader (%s). %s; or set "
                    "force: true to leave without demoting" % (text, QUORUM_HINT[0].upper() + QUORUM_HINT[1:]))
            raise MembershipError(
                "demoting this manager before it leaves failed: %s. Demote it from another manager "
                "(`docker node demote %s`) and run again" % (text, node_id)
            )
        deadline = time.time() + 30
        while node_facts(self.info())["control_available"]:
            if time.time() >= deadline:
                raise MembershipError("this node was demoted but still acts as a manager after 30s; run the task again")
            time.sleep(1)

    def run_steps(self, facts, steps, role=None, remotes=None, addresses=None):
        """Apply plan steps in order; returns the action texts of what was done."""
        done = []
        try:
            for step in steps:
                if step[0] == "demote":
                    self.demote_self(facts["node_id"])
                elif step[0] == "leave":
                    self.leave(step[1])
                else:
                    self.join(role, remotes, addresses, done)
                    continue
                done.append(action_text(step))
        except MembershipError as exc:
            if done and not exc.actions:
                exc.changed, exc.actions = True, done
                exc.msg += ". Done before the failure: %s" % ", ".join(done)
            raise
        return done

    def join(self, role, remotes, addresses, done):
        """Join; on failure clean up a half-done join and raise a clear MembershipError."""
        kwargs = dict(
            remote_addrs=[text for _h, _p, text in remotes],
            join_token=self.token.strip(),
            listen_addr=addresses.get("listen_addr", "0.0.0.0:2377"),
            advertise_addr=addresses.get("advertise_addr"),
        )
        if addresses.get("data_path_addr"):
            kwargs["data_path_addr"] = addresses["data_path_addr"]
        left_before = bool(done)
        try:
            self.client.swarm.join(**kwargs)
        except (DockerException, RequestException) as exc:
            engine_text = scrub_token(api_error_text(exc), self.token)
            msg = "joining the swarm as %s failed: %s (engine said: %s)" % (role, classify_join_error(engine_text), engine_text)
            after = node_facts(self.info())
            if after["local_state"] == "active":
                # The engine gave up waiting but the join went through after all: keep it.
                self.module.warn("the engine reported an error while joining, yet the node is now active: %s" % engine_text)
                done.append(action_text(("join", role)))
                return
            if after["local_state"] in ("pending", "error"):
                # The engine keeps retrying a failed join in the background ('pending'): stop it so the node is as before.
                try:
                    self.client.swarm.leave(force=True)
                    done.append("left swarm (force) to cancel the failed join (engine state was %s)" % after["local_state"])
                    msg += ". The engine had left this node in state '%s'; it was made to leave again" % after["local_state"]
                except (DockerException, RequestException) as exc2:
                    msg += ". The node is now in state '%s' and leaving failed too: %s" % (
                        after["local_state"], scrub_token(api_error_text(exc2), self.token))
            if left_before:
                msg += ". Note: this node left its previous swarm first (force_rejoin) and is now in no swarm"
            else:
                msg += ". This node's swarm membership is as before"
            # A cancelled failed join leaves the node as it was: only earlier steps (force_rejoin's leave) are a change.
            raise MembershipError(msg, changed=left_before, actions=done)
        done.append(action_text(("join", role)))

    def wait_for_role(self, role):
        """After a join, read back the node; a manager's control plane can take a moment."""
        deadline = time.time() + self.role_settle_seconds
        while True:
            facts = node_facts(self.info())
            if facts["local_state"] == "active" and facts["role"] == role:
                return facts
            if time.time() >= deadline:
                return facts
            time.sleep(1)

    def check_input(self):
        """Validate everything that needs no Docker engine; run before any client is made.

        For state=present: token format, manager addresses, and the node
        addresses with their interfaces. Stores what present() needs.
        """
        if self.params["state"] != "present":
            return
        try:
            self.token_digest = parse_join_token(self.token)
        except ValueError as exc:
            raise MembershipError(str(exc))
        self.remotes = self.parse_remotes()
        self.addresses, self.resolved = self.validate_local_addresses()

    def present(self):
        role = self.params["role"]
        if self.token_digest is None:
            self.check_input()
        token_digest, remotes, addresses, resolved = self.token_digest, self.remotes, self.addresses, self.resolved
        requested_endpoints = []
        for host, port, _text in remotes:
            requested_endpoints.extend(resolve_remote_endpoints(host, port))

        facts = node_facts(self.info())
        before = facts_summary(facts)
        cluster = None
        if facts["local_state"] == "active":
            cluster = assess_cluster(
                token_digest, self.node_ca_digest(facts), requested_endpoints, facts["remote_managers"],
                self.params.get("cluster_id"), facts["cluster_id"],
            )
        quorum = self.has_quorum(facts) if (cluster and (not cluster["same"] or facts["role"] != role) and self.params["force_rejoin"]) else True
        plan = plan_present(facts, role, self.params["force_rejoin"], cluster, quorum)
        if plan["fail"]:
            raise MembershipError(plan["fail"])

        wanted_id = self.params.get("cluster_id")
        if not plan["steps"]:
            self._warn_advertise(facts, resolved)
            cluster_id = facts["cluster_id"] or wanted_id
            before["cluster_id"] = cluster_id
            return self._result(False, facts, [], before, before, cluster_id, plan["reason"])

        # Only now, with a join ahead, probe the managers: a join to an unreachable manager leaves the node 'pending'.
        # The engine is given only the managers that answered: with an unreachable one first in the list, a lab
        # join timed out and stayed 'pending' although the second manager was fine.
        reachable = self.check_reachable(remotes)
        remotes = [r for r in remotes if r[2] in reachable]
        actions = [action_text(s) for s in plan["steps"]]
        after = summarize("present", role, wanted_id)
        if self.module.check_mode:
            # The node ID after a join is not known yet.
            return self._result(True, dict(facts, node_id=None), actions, before, after, wanted_id, plan["reason"])

        done = self.run_steps(facts, plan["steps"], role, remotes, addresses)
        new = self.wait_for_role(role)
        if new["local_state"] != "active" or new["role"] != role:
            got = new["role"] if new["local_state"] == "active" else "state %s" % new["local_state"]
            if done and done[-1] == action_text(("join", role)):
                done[-1] = "joined as %s" % got
            raise MembershipError(
                "this node joined but ended up as %s, not %s: the join_token decides the role, so it is probably the %s token. "
                "Fix: run `docker node %s %s` on a manager, or rerun with the %s token and force_rejoin: true"
                % (got, role, new["role"] or "wrong", "promote" if role == "manager" else "demote", new["node_id"] or "NODE", role),
                changed=True, actions=done,
            )
        if wanted_id and new["cluster_id"] and new["cluster_id"] != wanted_id:
            self.module.warn("joined cluster %s, but cluster_id says %s: the option is probably stale" % (new["cluster_id"], wanted_id))
        cluster_id = new["cluster_id"] or wanted_id
        return self._result(True, new, done, before, summarize("present", role, cluster_id), cluster_id, plan["reason"])

    def absent(self):
        facts = node_facts(self.info())
        before = facts_summary(facts)
        plan = plan_absent(facts, self.params["force"], self.has_quorum(facts))
        if plan["fail"]:
            raise MembershipError(plan["fail"])
        after = summarize("absent", None, None)
        if not plan["steps"]:
            return self._result(False, facts, [], before, before, None, plan["reason"])
        actions = [action_text(s) for s in plan["steps"]]
        if self.module.check_mode:
            return self._result(True, facts, actions, before, after, None, plan["reason"])
        actions = self.run_steps(facts, plan["steps"])
        new = node_facts(self.info())
        return self._result(True, new, actions, before, after, None, plan["reason"])

    def _warn_advertise(self, facts, resolved):
        wanted = resolved.get("advertise_addr")
        if wanted and facts["node_addr"] and wanted != facts["node_addr"]:
            self.module.warn(
                "this node's swarm address is %s, not advertise_addr %s; changing it needs a rejoin (force_rejoin: true "
                "does it only when the cluster or role differs: leave with state: absent first)" % (facts["node_addr"], wanted)
            )

    @staticmethod
    def _result(changed, facts, actions, before, after, cluster_id, reason):
        # role is what the node has after the task (in check mode: would have).
        return dict(
            changed=changed,
            node_id=facts["node_id"],
            cluster_id=cluster_id,
            role=after["role"],
            actions=actions,
            reason=reason,
            diff=build_diff(before, after),
        )

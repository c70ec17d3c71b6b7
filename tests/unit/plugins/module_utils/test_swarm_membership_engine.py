# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SwarmMembership against a fake engine: transport errors and lost quorum.

The fake answers like Engine 20.10 through the Docker SDK's surface (info,
swarm.join/leave, api.nodes/inspect_node/update_node) and records each call;
it raises requests' own exceptions where the SDK lets them through.
"""


import pytest
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import ReadTimeout

from ansible_collections.swarmnet.overlay.plugins.module_utils import swarm_membership as sm
from ansible_collections.swarmnet.overlay.plugins.module_utils.docker_client import APIError

LAB_DIGEST_FIELD = "0hv8vxp2a75st21je9dz04vkevte9l90e87iyicpyy6extrsyu"
TOKEN = "SWMTKN-1-%s-%s" % (LAB_DIGEST_FIELD, "abcdefghijklmnopqrstuvwxy")
NO_LEADER = ("rpc error: code = Unknown desc = The swarm does not have a leader. It's possible that too few managers "
             "are online. Make sure more than half of the managers are online.")


def _api_error(text):
    exc = APIError(text)
    exc.explanation = text
    return exc


class FakeModule(object):
    def __init__(self, **params):
        self.params = dict(state="present", role="worker", remote_addrs=["192.168.235.11:2377"], join_token=TOKEN,
                           advertise_addr=None, listen_addr="0.0.0.0:2377", data_path_addr=None, force=False,
                           force_rejoin=False, cluster_id=None, docker_host="unix:///var/run/docker.sock", timeout=60)
        self.params.update(params)
        self.check_mode = False
        self.warnings = []

    def warn(self, text):
        self.warnings.append(text)


class FakeSwarm(object):
    def __init__(self, engine):
        self.engine = engine

    def join(self, **kwargs):
        self.engine.calls.append(("join", kwargs["remote_addrs"]))
        if self.engine.join_raises is not None:
            # The engine got the request and started the join before the client gave up waiting.
            self.engine.state = "pending"
            raise self.engine.join_raises
        self.engine.state = "active"

    def leave(self, force=False):
        self.engine.calls.append(("leave", force))
        if self.engine.leave_raises is not None:
            raise self.engine.leave_raises
        self.engine.state, self.engine.control = "inactive", False


class FakeNodesAPI(object):
    def __init__(self, engine):
        self.engine = engine

    def nodes(self, filters=None):
        self.engine.calls.append(("nodes",))
        if not self.engine.quorum:
            raise _api_error(NO_LEADER)
        return [{"ID": "self1", "Spec": {"Role": "manager"}}]

    def inspect_node(self, node_id):
        self.engine.calls.append(("inspect_node", node_id))
        if not self.engine.quorum:
            raise _api_error(NO_LEADER)
        return {"ID": node_id, "Version": {"Index": 5}, "Spec": {"Role": "manager", "Availability": "active"}}

    def update_node(self, node_id, version, spec):
        self.engine.calls.append(("update_node", node_id, spec["Role"]))
        self.engine.control = False


class FakeEngine(object):
    def __init__(self, state="inactive", control=False, managers=0):
        self.state, self.control, self.managers = state, control, managers
        self.quorum = True
        self.join_raises = None
        self.leave_raises = None
        self.calls = []
        self.swarm = FakeSwarm(self)
        self.api = FakeNodesAPI(self)

    def info(self):
        swarm = {"LocalNodeState": self.state, "ControlAvailable": self.control, "NodeID": "self1" if self.state != "inactive" else "",
                 "Managers": self.managers, "RemoteManagers": [{"Addr": "192.168.235.11:2377"}]}
        return {"Swarm": swarm, "DockerRootDir": "/nonexistent"}


@pytest.fixture(autouse=True)
def managers_answer(monkeypatch):
    # The reachability pre-check is TCP to the manager: here every manager answers.
    monkeypatch.setattr(sm, "check_tcp_reachable", lambda host, port, timeout: None)
    monkeypatch.setattr(sm.time, "sleep", lambda s: None)


def membership(engine, **params):
    member = sm.SwarmMembership(FakeModule(**params), engine)
    member.check_input()
    return member


@pytest.mark.parametrize("error", [ReadTimeout("UnixHTTPConnectionPool(host='localhost', port=None): Read timed out. (read timeout=60)"),
                                   RequestsConnectionError("Connection aborted.")])
def test_join_transport_error_cancels_the_pending_join_and_fails_clearly(error):
    engine = FakeEngine()
    engine.join_raises = error
    with pytest.raises(sm.MembershipError) as failure:
        membership(engine).present()
    assert ("leave", True) in engine.calls, engine.calls  # the cleanup leave ran
    assert engine.state == "inactive"
    msg = failure.value.msg
    assert "joining the swarm as worker failed" in msg and type(error).__name__ in msg, msg
    assert "did not answer" in msg and "it was made to leave again" in msg, msg
    assert TOKEN not in msg and not failure.value.changed


def test_info_transport_error_is_a_membership_error():
    engine = FakeEngine()

    def hang():
        raise ReadTimeout("Read timed out. (read timeout=60)")
    engine.info = hang
    with pytest.raises(sm.MembershipError) as failure:
        membership(engine).present()
    assert "cannot read the Docker engine's info" in failure.value.msg and "ReadTimeout" in failure.value.msg


def test_leave_transport_error_is_a_membership_error():
    engine = FakeEngine(state="active", control=False)
    engine.leave_raises = ReadTimeout("Read timed out.")
    with pytest.raises(sm.MembershipError) as failure:
        membership(engine, state="absent").absent()
    assert "leaving the swarm failed" in failure.value.msg and "ReadTimeout" in failure.value.msg


# --- lost quorum -----------------------------------------------------------------


def test_plan_force_leave_without_quorum_does_not_demote():
    node = sm.node_facts({"Swarm": {"LocalNodeState": "active", "ControlAvailable": True, "NodeID": "m1", "Managers": 3}})
    assert sm.leave_steps(node, True, quorum=False) == [("leave", True)]
    assert sm.plan_absent(node, True, quorum=False)["steps"] == [("leave", True)]
    # without force it fails and says how to get a quorum back
    fail = sm.plan_absent(node, False, quorum=False)["fail"]
    assert "lost its quorum" in fail and "recover_quorum.yml" in fail and "force: true" in fail
    plan = sm.plan_present(node, "worker", True, dict(same=False, basis="", differences=["x"]), quorum=False)
    assert plan["steps"] == [("leave", True), ("join", "worker")]


def test_forced_leave_of_a_manager_without_quorum_leaves_without_demoting():
    engine = FakeEngine(state="active", control=True, managers=3)
    engine.quorum = False
    result = membership(engine, state="absent", force=True).absent()
    assert result["changed"] and result["actions"] == ["left swarm (force)"]
    assert not [c for c in engine.calls if c[0] == "update_node"]
    assert ("leave", True) in engine.calls


def test_leave_of_a_manager_without_quorum_and_without_force_changes_nothing():
    engine = FakeEngine(state="active", control=True, managers=3)
    engine.quorum = False
    with pytest.raises(sm.MembershipError) as failure:
        membership(engine, state="absent", force=False).absent()
    assert "recover_quorum.yml" in failure.value.msg
    assert [c for c in engine.calls if c[0] in ("leave", "update_node")] == []


def test_forced_leave_of_a_manager_with_quorum_still_demotes_first():
    engine = FakeEngine(state="active", control=True, managers=3)
    result = membership(engine, state="absent", force=True).absent()
    assert result["actions"] == ["demoted itself to worker", "left swarm"]
    assert ("update_node", "self1", "worker") in engine.calls


def test_no_leader_in_info_counts_as_no_quorum_without_asking_the_node_list():
    """Measured on Engine 20.10: without a leader, docker info says so in Swarm.Error and counts 0 managers."""
    engine = FakeEngine(state="active", control=True, managers=0)
    info = engine.info()
    info["Swarm"]["Error"] = NO_LEADER
    info["Swarm"]["RemoteManagers"] = [{"Addr": "192.168.235.%d:2377" % n} for n in (11, 12, 13)]
    engine.info = lambda: info
    result = membership(engine, state="absent", force=True).absent()
    assert result["actions"] == ["left swarm (force)"] and result["reason"].endswith("(no quorum)")
    assert ("nodes",) not in engine.calls and not [c for c in engine.calls if c[0] == "update_node"]

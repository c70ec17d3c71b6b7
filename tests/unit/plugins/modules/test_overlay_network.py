# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""overlay_network end to end against a fake engine.

The fake keeps networks, services, containers and tasks as the Docker API
reports them, records every call, and answers like Engine 20.10. Bad input must
fail before the engine is asked anything; refusals must make no mutating call.
"""

import copy

import pytest
import yaml

from ansible.module_utils import basic

from ansible_collections.swarmnet.overlay.tests.unit.plugins.modules.module_harness import ExitJson, FailJson, exit_json, fail_json, module_args

from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import ReadTimeout

from ansible_collections.swarmnet.overlay.plugins.module_utils.docker_client import DOCKER_COMMON_ARGS, APIError, NotFound
from ansible_collections.swarmnet.overlay.plugins.module_utils.network_diff import PENDING_REATTACH_LABEL
from ansible_collections.swarmnet.overlay.plugins.module_utils import overlay_networks
from ansible_collections.swarmnet.overlay.plugins.modules import overlay_network

MANAGER_ROUTES = [("eth0", "192.168.213.0/24"), ("eth1", "10.77.0.0/16"), ("docker_gwbridge", "172.18.0.0/16")]

MUTATING = {"create_network", "remove_network", "update_service", "connect_container_to_network", "disconnect_container_from_network"}


class ReachedDocker(Exception):
    pass


def _error(cls, text):
    exc = cls(text)
    exc.explanation = text
    return exc


class FakeAPI(object):
    def __init__(self):
        self.calls = []
        self.networks_by_id = {}
        self.services_by_id = {}
        self.containers = {}
        self.task_list = []
        self.counter = 0
        self.remove_refusals = 0
        self.create_error = None
        self.add_network("bridge", "bridge", "local", "172.17.0.0/16", nid="bridgeid")
        self.add_network("docker_gwbridge", "bridge", "local", "172.18.0.0/16", nid="gwbridgeid")
        self.add_network("ingress", "overlay", "swarm", "10.0.0.0/24", nid="ingressid", Ingress=True)

    def _record(self, call, *args, **kwargs):
        self.calls.append((call, args, kwargs))

    def mutating_calls(self):
        return [c for c in self.calls if c[0] in MUTATING]

    def add_network(self, name, driver="overlay", scope="swarm", subnet=None, gateway=None, nid=None, **extra):
        self.counter += 1
        nid = nid or ("%s%024d" % (name.lower()[:1], self.counter))
        config = []
        if subnet:
            pool = {"Subnet": subnet}
            if gateway:
                pool["Gateway"] = gateway
            config.append(pool)
        net = {"Name": name, "Id": nid, "Driver": driver, "Scope": scope, "EnableIPv6": False, "Internal": False,
               "Attachable": False, "Ingress": False, "IPAM": {"Driver": "default", "Options": None, "Config": config},
               "Options": {"com.docker.network.driver.overlay.vxlanid_list": "4097"} if driver == "overlay" else {},
               "Labels": {}, "Containers": {}}
        net.update(extra)
        self.networks_by_id[nid] = net
        return nid

    def add_service(self, name, networks=(), ports=(), deprecated=False):
        sid = "svc%s%020d" % (name, len(self.services_by_id))
        attachments = [{"Target": n} for n in networks]
        spec = {"Name": name, "Labels": {"keep": "me"}, "Mode": {"Replicated": {"Replicas": 1}},
                "TaskTemplate": {"ContainerSpec": {"Image": "swarmnet-sleep", "Args": ["/bin/sleep", "3600"]}},
                "UpdateConfig": {"Parallelism": 1}, "EndpointSpec": {"Mode": "vip", "Ports": list(ports)}}
        if deprecated:
            spec["Networks"] = attachments
        else:
            spec["TaskTemplate"]["Networks"] = attachments
        self.services_by_id[sid] = {"ID": sid, "Version": {"Index": 10}, "Spec": spec}
        return sid

    # -- API surface used by the module --
    def networks(self):
        self._record("networks")
        return [dict((k, v) for k, v in n.items() if k != "Containers") for n in self.networks_by_id.values()]

    def inspect_network(self, nid, verbose=None):
        self._record("inspect_network", nid)
        if nid not in self.networks_by_id:
            raise _error(NotFound, "network %s not found" % nid)
        return copy.deepcopy(self.networks_by_id[nid])

    def services(self):
        self._record("services")
        return copy.deepcopy(list(self.services_by_id.values()))

    def inspect_service(self, sid):
        self._record("inspect_service", sid)
        return copy.deepcopy(self.services_by_id[sid])

    def update_service(self, sid, version, **kwargs):
        self._record("update_service", sid, version, **kwargs)
        service = self.services_by_id[sid]
        assert version == service["Version"]["Index"]
        assert kwargs["fetch_current_spec"] is False
        spec = {"Name": kwargs["name"], "Labels": kwargs["labels"], "Mode": kwargs["mode"], "TaskTemplate": copy.deepcopy(kwargs["task_template"]),
                "UpdateConfig": kwargs["update_config"], "EndpointSpec": kwargs["endpoint_spec"]}
        spec["TaskTemplate"]["Networks"] = kwargs["networks"]
        service["Spec"] = spec
        service["Version"]["Index"] += 1
        return {"Warnings": None}

    def tasks(self, filters=None):
        self._record("tasks", filters=filters)
        # Like the engine: attachment tasks are listed only when asked for that runtime.
        if (filters or {}).get("runtime") != "attachment":
            return []
        return copy.deepcopy(self.task_list)

    def nodes(self):
        return [{"ID": "node1", "Description": {"Hostname": "manager1"}, "Status": {"Addr": "192.168.213.11"},
                 "ManagerStatus": {"Addr": "192.168.213.11:2377"}},
                {"ID": "node2", "Description": {"Hostname": "worker1"}, "Status": {"Addr": "192.168.213.12"}}]

    def inspect_container(self, cid):
        if cid not in self.containers:
            raise _error(NotFound, "no such container")
        return copy.deepcopy(self.containers[cid])

    def disconnect_container_from_network(self, cid, nid, force=False):
        self._record("disconnect_container_from_network", cid, nid)
        self.networks_by_id[nid]["Containers"].pop(cid)

    def connect_container_to_network(self, cid, nid, **kwargs):
        self._record("connect_container_to_network", cid, nid, **kwargs)
        self.networks_by_id[nid]["Containers"][cid] = {"Name": "x"}

    def remove_network(self, nid):
        self._record("remove_network", nid)
        if self.remove_refusals:
            self.remove_refusals -= 1
            raise _error(APIError, "rpc error: code = FailedPrecondition desc = network %s is in use by task abc" % nid)
        del self.networks_by_id[nid]

    def create_network(self, **kwargs):
        self._record("create_network", **kwargs)
        if self.create_error:
            raise _error(APIError, self.create_error)
        nid = self.add_network(kwargs["name"])
        net = self.networks_by_id[nid]
        net.update({"Attachable": kwargs["attachable"], "Internal": kwargs["internal"], "Ingress": kwargs["ingress"],
                    "EnableIPv6": kwargs["enable_ipv6"], "Labels": kwargs["labels"]})
        net["Options"].update(kwargs["options"])
        if kwargs["ipam"]:
            net["IPAM"]["Config"] = kwargs["ipam"]["Config"]
        else:
            net["IPAM"]["Config"] = [{"Subnet": "10.0.%d.0/24" % self.counter, "Gateway": "10.0.%d.1" % self.counter}]
        return {"Id": nid, "Warning": ""}


class FakeClient(object):
    def __init__(self, manager=True):
        self.api = FakeAPI()
        self.manager = manager

    def info(self):
        return {"Name": "manager1", "Swarm": {"NodeID": "node1", "LocalNodeState": "active", "ControlAvailable": self.manager}}


@pytest.fixture
def client():
    return FakeClient()


@pytest.fixture
def run(monkeypatch, client):
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    monkeypatch.setattr(overlay_network, "get_docker_client", lambda module: client)
    # Waits in the module are real seconds; the fake engine answers at once.
    monkeypatch.setattr("time.sleep", lambda s: None)
    # The manager's routes: its underlay (eth0) and a Docker bridge, not this test machine's.
    monkeypatch.setattr(overlay_networks, "read_routes", lambda: list(MANAGER_ROUTES))

    def _run(args, expect=ExitJson, check_mode=False):
        if check_mode:
            args = dict(args, _ansible_check_mode=True)
        with module_args(args):
            with pytest.raises(expect) as info:
                overlay_network.main()
        return info.value.args[0]
    return _run


@pytest.fixture
def no_docker(monkeypatch):
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)

    def reached(module):
        raise ReachedDocker()
    monkeypatch.setattr(overlay_network, "get_docker_client", reached)

    def _run(args):
        with module_args(args):
            with pytest.raises(FailJson) as info:
                overlay_network.main()
        return info.value.args[0]
    return _run


TUTORIAL = {"name": "helloTest", "ipam_config": [{"subnet": "172.19.0.1/24", "gateway": "172.19.0.1"}]}


# --- documentation matches the argument spec -----------------------------------

def test_documentation_matches_argument_spec():
    doc = yaml.safe_load(overlay_network.DOCUMENTATION)["options"]
    spec = overlay_network.argument_spec()
    for key in DOCKER_COMMON_ARGS:
        spec.pop(key)
    assert set(doc) == set(spec)
    for name, option in spec.items():
        assert doc[name]["type"] == option["type"], name
        assert doc[name].get("default") == option.get("default"), name
        assert doc[name].get("choices") == option.get("choices"), name
        assert doc[name].get("elements") == option.get("elements"), name
    sub = doc["ipam_config"]["suboptions"]
    assert set(sub) == set(spec["ipam_config"]["options"])
    yaml.safe_load(overlay_network.EXAMPLES)
    yaml.safe_load(overlay_network.RETURN)


# --- bad input fails before Docker is asked -------------------------------------

@pytest.mark.parametrize("args, field", [
    ({"name": "n", "ipam_config": [{"subnet": "172.19.0.300/24"}]}, "ipam_config[0].subnet"),
    ({"name": "n", "ipam_config": [{"subnet": "172.19.0.0/24", "gateway": "172.20.0.1"}]}, "ipam_config[0].gateway"),
    ({"name": "n", "ingress": True, "attachable": True}, "attachable"),
    ({"name": "n", "mtu": 5}, "mtu"),
    ({"name": "bad name"}, "name"),
])
def test_bad_input_fails_before_docker(no_docker, args, field):
    result = no_docker(args)
    assert result["msg"].startswith("Invalid option %s:" % field)
    assert "Nothing was changed" in result["msg"]


def test_unknown_recreate_choice_rejected(no_docker):
    assert "recreate" in no_docker({"name": "n", "recreate": "yes"})["msg"]


# --- create / idempotence ----------------------------------------------------------

def test_create_then_idempotent_with_tutorial_spelling(run, client):
    result = run(dict(TUTORIAL, attachable=True, mtu=1400, labels={"team": "web"}))
    assert result["changed"] is True
    assert result["actions"] == ["create network helloTest"]
    created = [c for c in client.api.calls if c[0] == "create_network"][0][2]
    assert created["ipam"]["Config"] == [{"Subnet": "172.19.0.0/24", "Gateway": "172.19.0.1"}]
    assert created["options"]["com.docker.network.driver.mtu"] == "1400"
    assert result["network"]["Name"] == "helloTest"
    assert result["diff"]["before"] == {} and result["diff"]["after"]["ipam_config"][0]["subnet"] == "172.19.0.0/24"

    before = len(client.api.mutating_calls())
    again = run(dict(TUTORIAL, attachable=True, mtu=1400, labels={"team": "web"}))
    assert again["changed"] is False and again["actions"] == [] and again["differences"] == []
    assert len(client.api.mutating_calls()) == before


def test_check_mode_creates_nothing(run, client):
    result = run(TUTORIAL, check_mode=True)
    assert result["changed"] is True and result["actions"] == ["create network helloTest"]
    assert client.api.mutating_calls() == []
    assert result["network"] is None


def test_not_a_manager(run, client):
    client.manager = False
    result = run(TUTORIAL, expect=FailJson)
    assert "must run on a swarm manager" in result["msg"]


def test_name_taken_by_local_bridge(run, client):
    client.api.add_network("helloTest", "bridge", "local", "192.168.77.0/24")
    result = run(TUTORIAL, expect=FailJson)
    assert result["msg"].startswith("name: helloTest is already taken")
    assert "driver bridge, scope local" in result["msg"]
    assert client.api.mutating_calls() == []


def test_overlap_with_docker_gwbridge(run, client):
    result = run({"name": "n", "ipam_config": [{"subnet": "172.18.3.0/24"}]}, expect=FailJson)
    assert "overlaps 172.18.0.0/16 of network docker_gwbridge (driver bridge, scope local)" in result["msg"]
    assert client.api.mutating_calls() == []


def test_overlap_with_another_overlay(run, client):
    client.api.add_network("other", subnet="172.19.0.0/16")
    result = run(TUTORIAL, expect=FailJson)
    assert "network other" in result["msg"]


# --- recreate --------------------------------------------------------------------------

@pytest.fixture
def in_use(client):
    nid = client.api.add_network("helloTest", subnet="172.19.0.0/24", gateway="172.19.0.1")
    client.api.add_network("other", subnet="172.30.0.0/24", nid="otherid")
    sid = client.api.add_service("web", networks=["otherid", nid])
    return nid, sid


CHANGED = {"name": "helloTest", "ipam_config": [{"subnet": "172.20.0.0/24", "gateway": "172.20.0.1"}]}


def test_changed_subnet_in_use_fails_by_default(run, client, in_use):
    result = run(CHANGED, expect=FailJson)
    msg = result["msg"]
    assert "ipam_config[0].subnet: 172.19.0.0/24 -> 172.20.0.0/24" in msg
    assert "ipam_config[0].gateway: 172.19.0.1 -> 172.20.0.1" in msg
    assert "services web (" in msg and "recreate: always_detach" in msg and "Nothing was changed" in msg
    assert result["differences"][0]["field"] == "ipam_config[0].subnet"
    assert result["diff"]["before"]["ipam_config"][0]["subnet"] == "172.19.0.0/24"
    assert result["diff"]["after"]["ipam_config"][0]["subnet"] == "172.20.0.0/24"
    assert client.api.mutating_calls() == []


def test_when_unused_refuses_in_use(run, client, in_use):
    result = run(dict(CHANGED, recreate="when_unused"), expect=FailJson)
    assert "in use by services web" in result["msg"]
    assert client.api.mutating_calls() == []


def test_unused_network_recreated_when_allowed(run, client):
    client.api.add_network("helloTest", subnet="172.19.0.0/24", gateway="172.19.0.1")
    assert "recreate: when_unused" in run(CHANGED, expect=FailJson)["msg"]
    result = run(dict(CHANGED, recreate="when_unused"))
    assert [a.split(" (")[0] for a in result["actions"]] == ["remove network helloTest", "create network helloTest"]


def test_recreate_always_detach_reattaches_at_same_position(run, client, in_use):
    nid, sid = in_use
    client.api.remove_refusals = 2  # tasks still draining
    result = run(dict(CHANGED, recreate="always_detach"))
    assert result["changed"] is True
    assert result["services_touched"] == ["web"]
    assert [a.split(" (")[0] for a in result["actions"]] == [
        "detach service web from helloTest", "remove network helloTest", "create network helloTest", "reattach service web to helloTest"]
    new_id = result["network"]["Id"]
    assert new_id != nid
    spec = client.api.services_by_id[sid]["Spec"]
    assert [n["Target"] for n in spec["TaskTemplate"]["Networks"]] == ["otherid", new_id]
    assert spec["Labels"] == {"keep": "me"} and spec["TaskTemplate"]["ContainerSpec"]["Image"] == "swarmnet-sleep"
    assert result["network"]["IPAM"]["Config"][0]["Subnet"] == "172.20.0.0/24"


def test_recreate_keeps_undeclared_settings(run, client):
    nid = client.api.add_network("helloTest", subnet="172.19.0.0/24", Attachable=True, Labels={"a": "b"})
    client.api.networks_by_id[nid]["Options"]["com.docker.network.driver.mtu"] = "1400"
    run({"name": "helloTest", "ipam_config": [{"subnet": "172.20.0.0/24"}], "recreate": "when_unused"})
    created = [c for c in client.api.calls if c[0] == "create_network"][0][2]
    assert created["attachable"] is True and created["labels"] == {"a": "b"}
    assert created["options"] == {"com.docker.network.driver.mtu": "1400"}


def test_recreate_check_mode_changes_nothing(run, client, in_use):
    result = run(dict(CHANGED, recreate="always_detach"), check_mode=True)
    assert result["changed"] is True and result["services_touched"] == ["web"]
    assert client.api.mutating_calls() == []


def test_deprecated_spec_networks_are_found_and_moved(run, client):
    nid = client.api.add_network("helloTest", subnet="172.19.0.0/24")
    sid = client.api.add_service("old", networks=["helloTest"], deprecated=True)
    result = run(dict(CHANGED, recreate="always_detach"))
    assert result["services_touched"] == ["old"]
    spec = client.api.services_by_id[sid]["Spec"]
    assert [n["Target"] for n in spec["TaskTemplate"]["Networks"]] == [result["network"]["Id"]]
    assert "Networks" not in spec
    assert nid not in client.api.networks_by_id


def test_failed_create_puts_old_network_and_services_back(run, client, in_use):
    nid, sid = in_use
    client.api.create_error = "pool overlaps with other one on this address space"
    result = run(dict(CHANGED, recreate="always_detach"), expect=FailJson)
    assert "refused to create network helloTest" in result["msg"]
    assert "could not recreate helloTest" in result["msg"]
    client.api.create_error = None


def test_failed_create_recovers(run, client, in_use, monkeypatch):
    nid, sid = in_use
    api = client.api
    original = api.create_network
    state = {"n": 0}

    def flaky(**kwargs):
        state["n"] += 1
        if state["n"] == 1:
            api._record("create_network", **kwargs)
            raise _error(APIError, "invalid pool request")
        return original(**kwargs)
    monkeypatch.setattr(api, "create_network", flaky)
    result = run(dict(CHANGED, recreate="always_detach"), expect=FailJson)
    assert "recreated helloTest as it was" in result["msg"] and "put services/containers back" in result["msg"]
    restored = [n for n in api.networks_by_id.values() if n["Name"] == "helloTest"][0]
    assert restored["IPAM"]["Config"][0]["Subnet"] == "172.19.0.0/24"
    assert [n["Target"] for n in api.services_by_id[sid]["Spec"]["TaskTemplate"]["Networks"]] == ["otherid", restored["Id"]]


# --- standalone containers ---------------------------------------------------------------

def test_local_standalone_container_disconnected_and_reconnected(run, client):
    api = client.api
    nid = api.add_network("helloTest", subnet="172.19.0.0/24", Attachable=True)
    api.networks_by_id[nid]["Containers"] = {"c" * 64: {"Name": "standalone"}, "lb-helloTest": {"Name": "helloTest-endpoint"}}
    api.containers["c" * 64] = {"Id": "c" * 64, "Name": "/standalone", "Config": {"Labels": {}},
                                "NetworkSettings": {"Networks": {"helloTest": {"NetworkID": nid, "Aliases": ["cccccccccccc", "web"],
                                                                               "IPAMConfig": {"IPv4Address": "172.19.0.7"}}}}}
    assert "standalone containers standalone on manager1" in run(CHANGED, expect=FailJson)["msg"]
    result = run(dict(CHANGED, recreate="always_detach"))
    assert result["containers_touched"] == ["standalone"]
    connect = [c for c in api.calls if c[0] == "connect_container_to_network"][0]
    assert connect[2]["aliases"] == ["web"]
    # its old address is outside the new subnet: the engine picks a new one
    assert connect[2]["ipv4_address"] is None


def test_local_standalone_container_keeps_address_in_same_subnet(run, client):
    api = client.api
    nid = api.add_network("helloTest", subnet="172.19.0.0/24", Attachable=True)
    api.networks_by_id[nid]["Containers"] = {"c" * 64: {"Name": "standalone"}}
    api.containers["c" * 64] = {"Id": "c" * 64, "Name": "/standalone", "Config": {"Labels": {}},
                                "NetworkSettings": {"Networks": {"helloTest": {"NetworkID": nid, "Aliases": None,
                                                                               "IPAMConfig": {"IPv4Address": "172.19.0.7"}}}}}
    run({"name": "helloTest", "labels": {"x": "y"}, "recreate": "always_detach"})
    connect = [c for c in api.calls if c[0] == "connect_container_to_network"][0]
    assert connect[2]["ipv4_address"] == "172.19.0.7" and connect[2]["aliases"] is None


def test_remote_standalone_container_refused(run, client):
    api = client.api
    nid = api.add_network("helloTest", subnet="172.19.0.0/24", Attachable=True)
    api.task_list = [{"ID": "t1", "NodeID": "node2", "DesiredState": "running",
                      "Spec": {"NetworkAttachmentSpec": {"ContainerID": "d" * 64}},
                      "NetworksAttachments": [{"Network": {"ID": nid}}]}]
    result = run(dict(CHANGED, recreate="always_detach"), expect=FailJson)
    assert "dddddddddddd on worker1" in result["msg"] and "docker network disconnect helloTest" in result["msg"]
    assert api.mutating_calls() == []


# --- absent -----------------------------------------------------------------------------

def test_absent_in_use_fails_then_detaches(run, client, in_use):
    nid, sid = in_use
    result = run({"name": "helloTest", "state": "absent"}, expect=FailJson)
    assert "in use by services web" in result["msg"] and "detach_services: true" in result["msg"]
    assert client.api.mutating_calls() == []
    result = run({"name": "helloTest", "state": "absent", "detach_services": True})
    assert result["changed"] is True and result["services_touched"] == ["web"] and result["network"] is None
    assert nid not in client.api.networks_by_id
    assert [n["Target"] for n in client.api.services_by_id[sid]["Spec"]["TaskTemplate"]["Networks"]] == ["otherid"]
    assert run({"name": "helloTest", "state": "absent"})["changed"] is False


def test_absent_leaves_a_bridge_of_that_name_alone(run, client):
    client.api.add_network("helloTest", "bridge", "local", "192.168.77.0/24")
    result = run({"name": "helloTest", "state": "absent"})
    assert result["changed"] is False
    assert client.api.mutating_calls() == []


def test_absent_check_mode(run, client):
    client.api.add_network("helloTest", subnet="172.19.0.0/24")
    result = run({"name": "helloTest", "state": "absent"}, check_mode=True)
    assert result["changed"] is True and client.api.mutating_calls() == []


# --- ingress -----------------------------------------------------------------------------

def test_ingress_replacement_refused_while_ports_published(run, client):
    client.api.add_service("web", ports=[{"Protocol": "tcp", "TargetPort": 8080, "PublishedPort": 8080, "PublishMode": "ingress"}])
    result = run({"name": "my-ingress", "ingress": True, "ipam_config": [{"subnet": "10.11.0.0/16", "gateway": "10.11.0.2"}]},
                 expect=FailJson)
    assert "removing the current ingress network ingress first" in result["msg"]
    assert "web (8080:8080/tcp)" in result["msg"]
    assert client.api.mutating_calls() == []


def test_ingress_replacement(run, client):
    client.api.add_service("hostport", ports=[{"Protocol": "tcp", "TargetPort": 8080, "PublishedPort": 8080, "PublishMode": "host"}])
    result = run({"name": "my-ingress", "ingress": True, "ipam_config": [{"subnet": "10.0.0.0/16"}]})
    assert [a.split(" (")[0] for a in result["actions"]] == ["remove ingress network ingress", "create network my-ingress"]
    assert "ingressid" not in client.api.networks_by_id
    assert result["network"]["Ingress"] is True
    assert run({"name": "my-ingress", "ingress": True, "ipam_config": [{"subnet": "10.0.0.0/16"}]})["changed"] is False


def test_ingress_absent_refused_with_publishers(run, client):
    client.api.add_service("web", ports=[{"TargetPort": 80}])
    result = run({"name": "ingress", "state": "absent", "detach_services": True}, expect=FailJson)
    assert "swarm's ingress network" in result["msg"] and "web (auto:80/tcp)" in result["msg"]


# --- a failed reattach is never silent; a rerun finishes it -------------------------------

def _failing_reattach(api, monkeypatch, error, name="web"):
    """update_service fails for the service's reattach (its 2nd update), as an engine restart would make it."""
    original = api.update_service
    counts = {}

    def update(sid, version, **kwargs):
        counts[sid] = counts.get(sid, 0) + 1
        if kwargs["name"] == name and counts[sid] == 2:
            api._record("update_service (refused)", sid)
            raise error
        return original(sid, version, **kwargs)
    monkeypatch.setattr(api, "update_service", update)


@pytest.mark.parametrize("error", [
    _error(APIError, "rpc error: code = Unavailable desc = transport is closing"),
    ReadTimeout("UnixHTTPConnectionPool(host='localhost', port=None): Read timed out. (read timeout=60)"),
])
def test_failed_reattach_names_the_detached_service_and_a_rerun_reattaches(run, client, in_use, monkeypatch, error):
    nid, sid = in_use
    api = client.api
    api.add_service("db", networks=[nid])
    _failing_reattach(api, monkeypatch, error)
    result = run(dict(CHANGED, recreate="always_detach"), expect=FailJson)
    assert result["changed"] is True
    assert result["services_detached"] == ["web"]
    msg = result["msg"]
    assert "service web" in msg and "Services left off the network: web" in msg and "Run the task again" in msg, msg
    assert "reattach service web to helloTest (failed)" in result["actions"]
    new = [n for n in api.networks_by_id.values() if n["Name"] == "helloTest"][0]
    assert PENDING_REATTACH_LABEL in new["Labels"]
    # db went back; web is off the network
    assert [n["Target"] for n in api.services_by_id[sid]["Spec"]["TaskTemplate"]["Networks"]] == ["otherid"]

    monkeypatch.undo()  # the engine is healthy again (and the run fixture's patches are re-applied below)
    api.services_by_id[sid]["Version"]["Index"] += 3  # the engine records the update's progress: no spec change
    rerun = _rerun(monkeypatch, client, dict(CHANGED, recreate="always_detach"))
    assert rerun["changed"] is True and rerun["services_touched"] == ["web"]
    assert [n["Target"] for n in api.services_by_id[sid]["Spec"]["TaskTemplate"]["Networks"]] == ["otherid", new["Id"]]
    assert new["Id"] in api.networks_by_id  # not recreated again
    third = _rerun(monkeypatch, client, dict(CHANGED, recreate="always_detach"))
    assert third["changed"] is False and third["actions"] == []


def _rerun(monkeypatch, client, args, check_mode=False):
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    monkeypatch.setattr(overlay_network, "get_docker_client", lambda module: client)
    monkeypatch.setattr(overlay_networks, "read_routes", lambda: list(MANAGER_ROUTES))
    if check_mode:
        args = dict(args, _ansible_check_mode=True)
    with module_args(args):
        with pytest.raises(ExitJson) as info:
            overlay_network.main()
    return info.value.args[0]


def test_pending_reattach_in_check_mode_is_reported_not_done(run, client, in_use, monkeypatch):
    nid, sid = in_use
    _failing_reattach(client.api, monkeypatch, _error(APIError, "update out of sequence"))
    run(dict(CHANGED, recreate="always_detach"), expect=FailJson)
    monkeypatch.undo()
    before = len(client.api.mutating_calls())
    result = _rerun(monkeypatch, client, CHANGED, check_mode=True)
    assert result["changed"] is True and result["services_touched"] == ["web"]
    assert len(client.api.mutating_calls()) == before


def test_pending_reattach_leaves_a_service_changed_since_alone(run, client, in_use, monkeypatch):
    nid, sid = in_use
    _failing_reattach(client.api, monkeypatch, _error(APIError, "update out of sequence"))
    run(dict(CHANGED, recreate="always_detach"), expect=FailJson)
    monkeypatch.undo()
    client.api.services_by_id[sid]["Spec"]["Labels"] = {"owner": "changed it"}  # its owner updated it meanwhile
    result = _rerun(monkeypatch, client, CHANGED)
    assert result["changed"] is False
    assert [n["Target"] for n in client.api.services_by_id[sid]["Spec"]["TaskTemplate"]["Networks"]] == ["otherid"]


def test_pending_label_is_not_a_difference_from_declared_labels(run, client, in_use, monkeypatch):
    _failing_reattach(client.api, monkeypatch, _error(APIError, "update out of sequence"))
    run(dict(CHANGED, recreate="always_detach", labels={"team": "a"}), expect=FailJson)
    monkeypatch.undo()
    result = _rerun(monkeypatch, client, dict(CHANGED, labels={"team": "a"}))
    assert result["differences"] == [] and PENDING_REATTACH_LABEL not in result["diff"]["after"].get("labels", {})


def test_failed_rollback_names_what_stays_detached(run, client, in_use, monkeypatch):
    nid, sid = in_use
    client.api.create_error = "invalid pool request"
    _failing_reattach(client.api, monkeypatch, _error(APIError, "rpc error: code = Unavailable"))
    result = run(dict(CHANGED, recreate="always_detach"), expect=FailJson)
    assert result["changed"] is True and result["services_detached"] == ["web"]
    assert "web" in result["msg"] and "detached" in result["msg"]


# --- a subnet on the nodes' own network is refused -----------------------------------------

def test_subnet_containing_a_node_address_is_refused(run, client):
    result = run({"name": "underlay", "ipam_config": [{"subnet": "192.168.213.0/24"}]}, expect=FailJson)
    msg = result["msg"]
    assert "contains 192.168.213.11, the address of swarm node manager1" in msg
    assert "contains 192.168.213.12, the address of swarm node worker1" in msg
    assert "allow_underlay_overlap: true" in msg and "Nothing was changed" in msg
    assert client.api.mutating_calls() == []


def test_subnet_overlapping_a_route_of_the_manager_is_refused(run, client):
    result = run({"name": "routed", "ipam_config": [{"subnet": "10.77.5.0/24"}]}, expect=FailJson)
    assert "overlaps the route to 10.77.0.0/16 via eth1" in result["msg"]
    assert client.api.mutating_calls() == []


def test_underlay_overlap_allowed_on_request(run, client):
    result = run({"name": "underlay", "ipam_config": [{"subnet": "192.168.213.0/24"}], "allow_underlay_overlap": True})
    assert result["changed"] is True


def test_existing_network_on_the_underlay_is_not_refused_again(run, client):
    client.api.add_network("legacy", subnet="192.168.213.0/24")
    result = run({"name": "legacy", "ipam_config": [{"subnet": "192.168.213.0/24"}]})
    assert result["changed"] is False


def test_create_whose_answer_is_lost_adopts_the_network_it_made(run, client, in_use, monkeypatch):
    """Seen on the lab: the engine restarted while answering the create; the network was there all the same."""
    nid, sid = in_use
    api = client.api
    original = api.create_network
    state = {"n": 0}

    def made_then_lost(**kwargs):
        state["n"] += 1
        if state["n"] == 1:
            original(**kwargs)
            raise RequestsConnectionError("('Connection aborted.', RemoteDisconnected('Remote end closed connection without response'))")
        return original(**kwargs)
    monkeypatch.setattr(api, "create_network", made_then_lost)
    result = run(dict(CHANGED, recreate="always_detach"))
    named = [n for n in api.networks_by_id.values() if n["Name"] == "helloTest"]
    assert len(named) == 1 and named[0]["IPAM"]["Config"][0]["Subnet"] == "172.20.0.0/24"
    assert [n["Target"] for n in api.services_by_id[sid]["Spec"]["TaskTemplate"]["Networks"]] == ["otherid", named[0]["Id"]]
    assert result["changed"] is True and state["n"] == 1


def test_engine_error_text_keeps_the_engine_explanation():
    from ansible_collections.swarmnet.overlay.plugins.module_utils.docker_client import api_error_text
    assert api_error_text(_error(APIError, 'network with name x already exists')) == "network with name x already exists"
    assert "did not answer" in api_error_text(ReadTimeout("Read timed out."))


def test_engine_gone_during_remove_and_rollback_then_rerun_reattaches(run, client, in_use, monkeypatch):
    """Seen on the lab: the manager restarted while the old network was removed; the rollback met it restarting too."""
    nid, sid = in_use
    api = client.api
    original_remove, original_update = api.remove_network, api.update_service
    calls = {"update": 0}

    def remove_unavailable(network_id):
        raise _error(APIError, "rpc error: code = Unavailable desc = connection error")

    def update_then_restart(sid_, version, **kwargs):
        calls["update"] += 1
        if calls["update"] > 1:  # the detach went through; the rollback meets the restarting engine
            raise RequestsConnectionError("Connection aborted.")
        return original_update(sid_, version, **kwargs)
    monkeypatch.setattr(api, "remove_network", remove_unavailable)
    monkeypatch.setattr(api, "update_service", update_then_restart)
    result = run(dict(CHANGED, recreate="always_detach"), expect=FailJson)
    assert result["changed"] is True and result["services_detached"] == ["web"]
    assert "could NOT put these back" in result["msg"] and "Run the task again" in result["msg"], result["msg"]
    assert [n["Target"] for n in api.services_by_id[sid]["Spec"]["TaskTemplate"]["Networks"]] == ["otherid"]

    monkeypatch.undo()
    api.remove_network, api.update_service = original_remove, original_update
    rerun = _rerun(monkeypatch, client, dict(CHANGED, recreate="always_detach"))
    new = [n for n in api.networks_by_id.values() if n["Name"] == "helloTest"][0]
    assert new["IPAM"]["Config"][0]["Subnet"] == "172.20.0.0/24"
    spec = api.services_by_id[sid]["Spec"]
    assert [n["Target"] for n in spec["TaskTemplate"]["Networks"]] == ["otherid", new["Id"]]
    assert spec["Labels"] == {"keep": "me"}  # the bookkeeping label is gone once it is back
    assert "reattach service web to helloTest" in rerun["actions"]
    assert _rerun(monkeypatch, client, dict(CHANGED, recreate="always_detach"))["changed"] is False

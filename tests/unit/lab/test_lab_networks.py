"""lab/lab.py reuses the networks it made, the private one included (a second `up` must not refuse it)."""

import importlib.util
import os

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = importlib.util.spec_from_file_location("swarmnet_lab", os.path.join(HERE, "..", "..", "..", "lab", "lab.py"))
lab = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(lab)


class FakeNetwork:
    def __init__(self, name, labels):
        self.name = name
        self.attrs = {"Labels": labels}


class FakeNetworks:
    def __init__(self, existing):
        self.existing = existing
        self.created = []

    def list(self, names):
        return [net for net in self.existing if net.name in names]

    def create(self, name, **kwargs):
        self.created.append(name)
        return FakeNetwork(name, kwargs.get("labels"))


class FakeClient:
    def __init__(self, existing):
        self.networks = FakeNetworks(existing)


@pytest.mark.parametrize("name, internal", [("lab1", False), ("lab1-private", True)])
def test_a_network_the_lab_made_is_reused(name, internal):
    existing = FakeNetwork(name, {lab.LABEL: "lab1"})
    client = FakeClient([existing])
    assert lab.ensure_network(client, name, "192.168.230.0/24", internal=internal) is existing
    assert client.networks.created == []


def test_a_network_of_the_same_name_made_by_someone_else_is_refused():
    client = FakeClient([FakeNetwork("lab1-private", {})])
    with pytest.raises(SystemExit) as exc:
        lab.ensure_network(client, "lab1-private", "192.168.240.0/24", internal=True)
    assert "not made by the lab" in str(exc.value)
    assert client.networks.created == []


def test_both_networks_carry_the_lab_name_when_created():
    client = FakeClient([])
    net = lab.ensure_network(client, "lab1-private", "192.168.240.0/24", internal=True)
    assert net.attrs["Labels"] == {lab.LABEL: "lab1"}

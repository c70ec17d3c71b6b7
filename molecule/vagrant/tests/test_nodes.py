"""After site.yml on the VMs: the swarm holds every VM with its inventoried role,
each node peers on ingress and has the swarm's two networks."""


import pytest
from conftest import PRIVATE_NET, docker_json, node, node_list, wait_for


def test_every_node_is_ready_with_its_inventoried_role(host, lab_nodes):
    listed = dict((entry["Hostname"], entry) for entry in node_list(host))
    assert sorted(listed) == sorted(n["name"] for n in lab_nodes)
    for wanted in lab_nodes:
        entry = listed[wanted["name"]]
        assert entry["Status"] == "Ready", entry
        assert entry["Availability"] == "Active", entry
        assert bool(entry["ManagerStatus"]) == (wanted["role"] == "manager"), entry


def test_nodes_advertise_their_private_address(host, lab_nodes):
    """swarm_advertise_addr: eth1 is the private network's NIC, with the platforms' fixed
    address, found on the VM (the inventory gives no address)."""
    for index, wanted in enumerate(lab_nodes):
        assert wanted["address"] == "%s.%d" % (PRIVATE_NET, 11 + index), wanted
        addr = docker_json(host, "node inspect", wanted["name"], "--format '{{json .Status.Addr}}'")
        assert addr == wanted["address"], wanted["name"]


def test_ingress_network_has_one_peer_per_node(host, lab_nodes):
    def peers():
        found = docker_json(host, "network inspect ingress --format '{{json .Peers}}'") or []
        return found if len(found) == len(lab_nodes) else None

    found = wait_for(peers, timeout=120)
    assert found, "ingress peers never reached one per node"
    assert sorted(p["IP"] for p in found) == sorted(n["address"] for n in lab_nodes)
    print("ingress peers: %s" % ", ".join(sorted(p["IP"] for p in found)))


@pytest.mark.parametrize("network,driver,scope", [("ingress", "overlay", "swarm"), ("docker_gwbridge", "bridge", "local")])
def test_swarm_networks_exist_on_every_node(lab_nodes, network, driver, scope):
    for wanted in lab_nodes:
        inspected = docker_json(node(wanted["name"]), "network inspect", network)[0]
        assert (inspected["Driver"], inspected["Scope"]) == (driver, scope), wanted["name"]


def test_the_kernel_has_ipvs(lab_nodes):
    """What the node containers lack: VIP and routing mesh need IPVS in the node's kernel."""
    for wanted in lab_nodes:
        vm = node(wanted["name"])
        assert vm.run("test -e /proc/net/ip_vs || modprobe ip_vs").rc == 0, wanted["name"]

"""Published ports under firewall_published_sources (the scenario allows the VMs'
private network): a port published through the routing mesh answers an allowed
source, another VM on eth1, on every VM, and not this machine on the VMs'
management addresses (eth0, outside the allowed network): the role's DOCKER-USER
chain drops it, and its counter shows the drops."""

import json
import re

from conftest import BUILD_PY_IMAGE, PY_IMAGE, answers_here, node, wait_for

SERVICE = "swarmnet-published-probe"
PORT = 8097


def connects_from(name, address):
    code = "import socket; socket.create_connection((%r, %d), 3).close()" % (address, PORT)
    return node(name).run("python3 -c %s" % json.dumps(code)).rc == 0


def dropped(name):
    """Packets counted by the published-ports chain's DROP rule on a VM."""
    out = node(name).check_output("iptables -L SWARMNET-PUBLISHED -v -n -x")
    counts = [int(line.split()[0]) for line in out.splitlines() if "published-port-source-not-allowed" in line]
    assert counts, out
    return counts[0]


def test_published_port_answers_an_allowed_vm_and_not_this_machine(host, inventory_hosts, lab_nodes):
    for wanted in lab_nodes:
        assert node(wanted["name"]).run(BUILD_PY_IMAGE).rc == 0, wanted["name"]
    client = lab_nodes[-1]["name"]
    host.run("docker service rm %s" % SERVICE)
    host.check_output("docker service create --detach --name %s --publish published=%d,target=8000,mode=ingress "
                      "%s python3 -m http.server 8000" % (SERVICE, PORT, PY_IMAGE))
    try:
        for wanted in lab_nodes:
            eth0 = inventory_hosts[wanted["name"]]["ansible_host"]
            before = dropped(wanted["name"])
            assert wait_for(lambda: connects_from(client, wanted["address"]), timeout=120, interval=3), \
                "allowed %s got no answer from %s:%d" % (client, wanted["address"], PORT)
            assert not answers_here(eth0, PORT), "%s:%d answered this machine" % (eth0, PORT)
            after = dropped(wanted["name"])
            print("%s: %s:%d answers %s; %s:%d (eth0) refuses this machine, drops counted %d -> %d"
                  % (wanted["name"], wanted["address"], PORT, client, eth0, PORT, before, after))
            assert after > before, wanted["name"]
        rules = node(lab_nodes[0]["name"]).check_output("iptables -S SWARMNET-PUBLISHED")
        print(rules)
        assert re.search(r"-s \S+ -j RETURN", rules), rules
    finally:
        host.run("docker service rm %s" % SERVICE)

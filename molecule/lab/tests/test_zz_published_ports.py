"""Published ports under firewall_published_sources (the scenario allows the nodes'
private network): a host-mode published port answers a node and not this machine,
which reaches the node through the lab network's gateway. Runs after the tutorial
tests (file order), whose runbooks built the demo base image on the nodes."""

import json
import socket

from conftest import node, wait_for

SERVICE = "swarmnet-published-probe"
PORT = 8097


def _addresses(name):
    out = node(name).check_output("ip -o -4 addr show")
    found = {line.split()[1]: line.split()[3].split("/")[0] for line in out.splitlines()}
    return found["eth0"], found["eth1"]


def _connects_from(name, address):
    code = "import socket; socket.create_connection((%r, %d), 3).close()" % (address, PORT)
    return node(name).run("python3 -c %s" % json.dumps(code)).rc == 0


def test_host_mode_published_port_answers_allowed_nodes_only(host, groups):
    target = groups["swarm_workers"][-1]
    client = groups["swarm_workers"][0]
    image = "swarmnet/python-base:local"
    assert node(target).run("docker image inspect %s" % image).rc == 0, "the tutorial runbooks build %s on every node" % image
    host.check_output(
        "docker service create --detach --name %s --constraint node.hostname==%s "
        "--publish mode=host,published=%d,target=8000 %s python3 -m http.server 8000" % (SERVICE, target, PORT, image))
    try:
        eth0, eth1 = _addresses(target)
        assert wait_for(lambda: _connects_from(client, eth1), timeout=90), "allowed node %s got no answer" % client
        # This machine is the lab network's gateway, outside firewall_published_sources.
        assert not _connects_from_gateway(eth0)
        rules = node(target).check_output("iptables -S SWARMNET-PUBLISHED")
        dropped = node(target).check_output("iptables -L SWARMNET-PUBLISHED -v -n -x")
        print(rules)
        print(dropped)
        assert "published-port-source-not-allowed" in rules
    finally:
        host.run("docker service rm %s" % SERVICE)


def _connects_from_gateway(address):
    try:
        socket.create_connection((address, PORT), 3).close()
        return True
    except OSError:
        return False

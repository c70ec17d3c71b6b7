"""An encrypted overlay (swarmnetSecret, declared with encrypted: true in the
inventory) carries HTTP between tasks on different VMs, and on the wire (eth1)
that traffic is IPsec: a capture sees IP protocol 50 (ESP) and no plaintext VXLAN
on udp/4789. Necessity, as the lab shows for 4789: with the firewall role's ESP
rule gone on one VM, its task is cut off that network; the firewall role restores it.
Needs a client and servers on different VMs: not in the one-VM smoke scenario."""

import json

import pytest
from conftest import PY_IMAGE, SERVER, node, quote, run_playbook, wait_for

NETWORK = "swarmnetSecret"
SERVICE = "swarmnet-secret-web"
# The client is a task too, on the manager (where the capture runs), asked through docker exec: a standalone
# container's attach to the overlay has a fixed deadline of the engine, and on the TCG VMs it timed out on every
# try ("attaching to network failed ... context deadline exceeded", CI rehearsal of 2026-12-01), while a task
# gets its attachment whenever the manager allocates it, and the fixture waits for it to run.
CLIENT = "swarmnet-secret-client"
FIREWALL_PLAYBOOK = "molecule/lab/firewall.yml"   # the firewall role alone on the swarm's nodes
CAPTURE = "/root/swarmnet-esp-capture"

# Run in a container on the encrypted network: every task address of NAME (tasks.NAME),
# COUNT requests to each on new connections; prints {address: [answers]}.
TASK_CLIENT = r"""
import json, socket, sys, urllib.request
name, count = sys.argv[1], int(sys.argv[2])
addresses = sorted({a[4][0] for a in socket.getaddrinfo("tasks." + name, 8080, socket.AF_INET, socket.SOCK_STREAM)})
answers = {}
for address in addresses:
    answers[address] = []
    for _ in range(count):
        try:
            with urllib.request.urlopen("http://%s:8080/" % address, timeout=3) as resp:
                answers[address].append(resp.read().decode().strip())
        except Exception as exc:
            answers[address].append("error: %s" % exc)
print(json.dumps(answers))
"""


def ask_every_task(host, count=4):
    """The answers, asked from the client task on this host, or None when it could not ask."""
    container = host.check_output(
        "docker ps --quiet --filter label=com.docker.swarm.service.name=%s | head -n 1" % CLIENT)
    result = host.run("docker exec %s python3 -c %s %s %d" % (container, quote(TASK_CLIENT), SERVICE, count))
    if not container or result.rc != 0:
        print("client task on %s (%r) did not ask: %s" % (NETWORK, container, result.stderr.strip()))
        return None
    return json.loads(result.stdout.splitlines()[-1])


def answering_nodes(answers):
    """{node: answered all?} from answers "<node>-<slot>" (an address that never answered: key = address)."""
    found = {}
    for address, got in answers.items():
        named = [a.rsplit("-", 1)[0] for a in got if not a.startswith("error")]
        found[named[0] if named else address] = len(named) == len(got)
    return found


def every_task_answers(host, workers):
    """The answers when every worker's task answered every request, else None."""
    answers = ask_every_task(host)
    reached = answering_nodes(answers or {})
    return answers if sorted(reached) == sorted(workers) and all(reached.values()) else None


def victim_cut_off(host, victim):
    """The answers once no request reached the task on the victim VM, else None."""
    answers = ask_every_task(host, count=2)
    return answers if answers is not None and victim not in answering_nodes(answers) else None


@pytest.fixture(scope="module")
def workers_service(host, lab_nodes, python_image):
    if len(lab_nodes) < 3:
        pytest.skip("needs a client VM and server tasks on two other VMs (scenario vagrant, not vagrant-smoke)")
    encrypted = host.check_output("docker network inspect %s --format '{{json .Options}}'" % NETWORK)
    assert '"encrypted"' in encrypted, encrypted
    host.run("docker service rm %s %s" % (SERVICE, CLIENT))
    workers = [n["name"] for n in lab_nodes if n["role"] == "worker"]
    host.check_output(
        "docker service create --detach --name %s --network %s --replicas %d --replicas-max-per-node 1 "
        "--constraint node.role==worker --hostname '{{.Node.Hostname}}-{{.Task.Slot}}' %s python3 -c %s"
        % (SERVICE, NETWORK, len(workers), PY_IMAGE, quote(SERVER)))
    host.check_output(
        "docker service create --detach --name %s --network %s --constraint node.hostname==%s %s "
        "python3 -c 'import time; time.sleep(86400)'"
        % (CLIENT, NETWORK, host.check_output("hostname"), PY_IMAGE))

    def running(service, count):
        states = host.check_output(
            "docker service ps %s --filter desired-state=running --format '{{.CurrentState}}'" % service)
        return states.count("Running") == count

    for service, count in ((SERVICE, len(workers)), (CLIENT, 1)):
        assert wait_for(lambda s=service, c=count: running(s, c), timeout=300, interval=5), \
            host.run("docker service ps --no-trunc %s" % service).stdout
    yield workers
    host.run("docker service rm %s %s" % (SERVICE, CLIENT))


def test_http_between_vms_on_the_encrypted_overlay_is_esp_on_eth1(host, workers_service, lab_nodes):
    host.run("rm -f %s.*" % CAPTURE)
    # Capture on the client VM's eth1 while it asks the tasks on the two other VMs.
    pid = host.check_output(
        "nohup timeout 120 tcpdump -i eth1 -nn -l 'ip proto 50 or udp port 4789' >%s.txt 2>%s.err & echo $!"
        % (CAPTURE, CAPTURE))
    try:
        assert wait_for(lambda: "listening on eth1" in host.run("cat %s.err" % CAPTURE).stdout, timeout=30)
        answers = wait_for(lambda: every_task_answers(host, workers_service), timeout=120, interval=5) \
            or ask_every_task(host) or {}
    finally:
        host.run("kill %s" % pid)
    print("answers over %s: %s" % (NETWORK, json.dumps(answers)))
    assert sorted(answering_nodes(answers)) == sorted(workers_service), answers
    assert all(answering_nodes(answers).values()), answers
    lines = host.check_output("cat %s.txt" % CAPTURE).splitlines()
    esp = [line for line in lines if "ESP(" in line]
    vxlan = [line for line in lines if ".4789:" in line or "VXLAN" in line]
    print("capture on eth1: %d ESP packets, %d plaintext VXLAN packets; first ESP lines:\n%s"
          % (len(esp), len(vxlan), "\n".join(esp[:6])))
    assert esp, "no ESP (IP protocol 50) on eth1: %s" % lines[:20]
    peers = {n["address"] for n in lab_nodes if n["name"] in workers_service}
    assert all(any(p + " >" in line or "> " + p + ":" in line for line in esp) for p in peers), esp[:20]
    assert not vxlan, "plaintext VXLAN on eth1 for an encrypted overlay: %s" % vxlan[:10]


# In vagrant_full only (CI's hour): the cut, a firewall role run and the restore take minutes under TCG. (It was
# left out first because the standalone client container's attach timed out under load; the client is a task now.)
@pytest.mark.vagrant_full
def test_closing_esp_on_one_vm_cuts_its_task_off_and_the_firewall_role_restores_it(host, workers_service, lab_nodes):
    victim = workers_service[-1]
    vm = node(victim)
    rules = [r for r in vm.check_output("iptables -S SWARMNET-INPUT").splitlines() if "-p esp" in r]
    assert rules, "%s: no ESP rule in SWARMNET-INPUT (is it the iptables VM?)" % victim
    for rule in rules:
        vm.check_output("iptables " + rule.replace("-A ", "-D ", 1))
    # ESP has no ports: the kernel tracks it as one flow per address pair, ESTABLISHED for
    # 600 s after the last packet. Forget those flows, so that the next packets are new.
    vm.run("conntrack -D -p esp")
    try:
        answers = wait_for(lambda: victim_cut_off(host, victim), timeout=60, interval=5)
        print("ESP closed on %s: %s" % (victim, json.dumps(answers)))
        assert answers, "the task on %s still answered with ESP closed there" % victim
        reached = answering_nodes(answers)
        assert victim not in reached and [n for n, ok in reached.items() if ok] == [
            n for n in workers_service if n != victim], answers
    finally:
        rc, out = run_playbook(FIREWALL_PLAYBOOK)
    assert rc == 0, out[-3000:]
    restored = wait_for(lambda: every_task_answers(host, workers_service), timeout=180, interval=5)
    print("after the firewall role: %s" % json.dumps(restored))
    assert restored and sorted(answering_nodes(restored)) == sorted(workers_service), restored

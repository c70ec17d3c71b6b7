"""The three modules reach an engine over TCP with TLS, with community.docker's options.

The spare node's dockerd gets a second listener, tcp://0.0.0.0:2376 with
--tlsverify, and certificates this test makes (a CA, the engine's certificate
for the node's address and host name, a client certificate, and a CA that
signed nothing). Its own single-node swarm carries a network, a service and a
probe; the modules run on the controller (this machine) and talk to the
spare's address. Everything is undone at the end, pass or fail: the spare
leaves its swarm and its dockerd listens on its socket only, as before.
"""

import datetime
import ipaddress
import json
import os
import subprocess

import pytest
from conftest import node, run_module, wait_for

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

TLS_PORT = 2376
REMOTE_DIR = "/etc/swarmnet-test-tls"
DROP_IN = "/etc/systemd/system/docker.service.d/swarmnet-test-tls.conf"
FIREWALL_COMMENT = "swarmnet-test-tls"
NETWORK = "swarmnet-tls-net"
SERVICE = "swarmnet-tls-hello"
IMAGE = "swarmnet/tls-probe-base:local"


def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _cert(subject, key, issuer=None, issuer_key=None, ca=False, usage=None, names=()):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer or subject)]))
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    # Python 3.13's default X509_STRICT verification wants the issuer's key identifier in every certificate.
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key((issuer_key or key).public_key()), critical=False)
    if ca:
        builder = builder.add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
    if usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(names)), critical=False)
    return builder.sign(issuer_key or key, hashes.SHA256())


def _pem(obj):
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM).decode()
    return obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.fixture(scope="module")
def spare(host):
    name = host.ansible.get_variables()["groups"]["swarm_spares"][0]
    spare_host = node(name)
    # Its address on the lab's own network (eth0), the one this machine reaches it at.
    address = spare_host.check_output("ip -4 -o addr show dev eth0").split()[3].split("/")[0]
    return name, spare_host, address


@pytest.fixture(scope="module")
def certs(spare, tmp_path_factory):
    """ca.pem, cert.pem, key.pem (the docker CLI's names, for DOCKER_CERT_PATH), server files, a wrong CA."""
    name, _spare_host, address = spare
    ca_key, wrong_key, server_key, client_key = _key(), _key(), _key(), _key()
    ca = _cert("swarmnet test CA", ca_key, ca=True)
    wrong = _cert("swarmnet test CA that signed nothing", wrong_key, ca=True)
    server = _cert(name, server_key, "swarmnet test CA", ca_key, usage=ExtendedKeyUsageOID.SERVER_AUTH,
                   names=[x509.DNSName(name), x509.IPAddress(ipaddress.ip_address(address))])
    client = _cert("swarmnet test client", client_key, "swarmnet test CA", ca_key, usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    local = tmp_path_factory.mktemp("tls")
    files = {"ca.pem": _pem(ca), "cert.pem": _pem(client), "key.pem": _pem(client_key),
             "wrong-ca.pem": _pem(wrong), "server-cert.pem": _pem(server), "server-key.pem": _pem(server_key)}
    for filename, text in files.items():
        (local / filename).write_text(text)
        os.chmod(str(local / filename), 0o600)
    return {"dir": str(local), "files": files, **{k: str(local / k) for k in files}}


def _engine_tls_up(spare_host):
    return spare_host.run("python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", %d), 1)'" % TLS_PORT).rc == 0


@pytest.fixture(scope="module")
def tls_engine(spare, certs):
    """The spare's dockerd also listens on TCP with TLS, in its own single-node swarm; undone afterwards."""
    name, spare_host, address = spare
    exec_start = spare_host.check_output("systemctl show -p ExecStart --value docker.service")
    argv = exec_start.split("argv[]=", 1)[1].split(" ;", 1)[0].strip()
    # Earlier tests may have run the firewall role on the spare (default deny): let this
    # machine, the controller, reach the TLS port, as an operator exposing it would.
    route = subprocess.run(["ip", "-o", "route", "get", address], stdout=subprocess.PIPE, text=True, check=True).stdout.split()
    controller = route[route.index("src") + 1]
    rule = "INPUT -s %s -p tcp --dport %d -m comment --comment %s -j ACCEPT" % (controller, TLS_PORT, FIREWALL_COMMENT)
    try:
        spare_host.check_output("iptables -I %s" % rule)
        spare_host.check_output("mkdir -p %s %s" % (REMOTE_DIR, os.path.dirname(DROP_IN)))
        for filename in ("ca.pem", "server-cert.pem", "server-key.pem"):
            failed, result = run_module(name, "ansible.builtin.copy", {
                "content": certs["files"][filename], "dest": "%s/%s" % (REMOTE_DIR, filename), "mode": "0600"})
            assert not failed, result.get("msg")
        drop_in = ("[Service]\nExecStart=\nExecStart=%s -H tcp://0.0.0.0:%d --tlsverify --tlscacert=%s/ca.pem "
                   "--tlscert=%s/server-cert.pem --tlskey=%s/server-key.pem\n"
                   % (argv, TLS_PORT, REMOTE_DIR, REMOTE_DIR, REMOTE_DIR))
        failed, result = run_module(name, "ansible.builtin.copy", {"content": drop_in, "dest": DROP_IN, "mode": "0644"})
        assert not failed, result.get("msg")
        spare_host.check_output("systemctl daemon-reload && systemctl restart docker")
        assert wait_for(lambda: _engine_tls_up(spare_host), timeout=60), spare_host.run("journalctl -u docker -n 20").stdout
        spare_host.check_output("docker swarm init --advertise-addr %s" % address)
        # An image with python3 for the service and the probe, from the node's own python3 (offline).
        spare_host.check_output(
            "set -e; v=$(python3 -c 'import sys; print(\"%%d.%%d\" %% sys.version_info[:2])'); "
            "m=$(python3 -c 'import sysconfig; print(sysconfig.get_config_var(\"MULTIARCH\"))'); "
            "tar -C / --exclude=__pycache__ -cf - bin lib lib64 usr/lib64 usr/bin/python$v usr/bin/python3 "
            "usr/lib/python$v usr/lib/$m 2>/dev/null | docker import --change 'CMD [\"python3\"]' - %s >/dev/null" % IMAGE)
        yield {"docker_host": "tcp://%s:%d" % (address, TLS_PORT), "name": name, "address": address}
    finally:
        spare_host.run("docker service rm %s; docker swarm leave --force; docker image rm %s" % (SERVICE, IMAGE))
        spare_host.run("iptables -D %s" % rule)
        spare_host.run("rm -rf %s %s; rmdir --ignore-fail-on-non-empty %s; systemctl daemon-reload && systemctl restart docker"
                       % (DROP_IN, REMOTE_DIR, os.path.dirname(DROP_IN)))
        wait_for(lambda: spare_host.run("docker info --format '{{.Swarm.LocalNodeState}}'").stdout.strip() == "inactive", 60)


def _tls(engine, certs, **extra):
    args = {"docker_host": engine["docker_host"], "validate_certs": True,
            "ca_path": certs["ca.pem"], "client_cert": certs["cert.pem"], "client_key": certs["key.pem"]}
    args.update(extra)
    return args


def _no_secret_no_traceback(result, certs):
    text = json.dumps(result)
    # ansible-core 2.21 adds "exception": "(traceback unavailable)" to every fail_json result.
    assert "Traceback" not in text and "File \"" not in text, text
    assert certs["files"]["key.pem"].splitlines()[1] not in text


def test_overlay_network_over_tls(tls_engine, certs, spare):
    args = _tls(tls_engine, certs, name=NETWORK, attachable=True)
    failed, first = run_module("localhost", "swarmnet.overlay.overlay_network", args)
    assert not failed and first["changed"], first.get("msg")
    failed, again = run_module("localhost", "swarmnet.overlay.overlay_network", args)
    assert not failed and not again["changed"], again.get("msg")
    inspected = json.loads(spare[1].check_output("docker network inspect %s" % NETWORK))[0]
    assert (inspected["Driver"], inspected["Attachable"]) == ("overlay", True)


def test_service_endpoint_probe_over_tls(tls_engine, certs, spare):
    spare_host = spare[1]
    spare_host.check_output("docker service create --detach --name %s --network %s --endpoint-mode dnsrr %s "
                            "python3 -m http.server 8080" % (SERVICE, NETWORK, IMAGE))
    assert wait_for(lambda: "Running" in spare_host.check_output(
        "docker service ps %s --format '{{.CurrentState}}'" % SERVICE), timeout=60)
    # request_timeout also sizes the module's wait for the probe container: room for a loaded machine.
    failed, result = run_module("localhost", "swarmnet.overlay.service_endpoint_probe", _tls(
        tls_engine, certs, service=SERVICE, network=NETWORK, probe_image=IMAGE, requests=2, request_timeout=10,
        expect_resolvable=True, expect_endpoint_mode="dnsrr", max_failures=0))
    assert not failed, result.get("msg")
    assert result["probe_node"]["name"] == tls_engine["name"] and result["method"] == "container"
    assert len(result["dns"]["tasks"]) == 1


def test_swarm_join_over_tls_makes_the_spare_leave(tls_engine, certs, spare):
    args = _tls(tls_engine, certs, state="absent", force=True)
    failed, checked = run_module("localhost", "swarmnet.overlay.swarm_join", args, check=True)
    assert not failed and checked["changed"], checked.get("msg")
    state = "docker info --format '{{.Swarm.LocalNodeState}}'"
    assert spare[1].check_output(state) == "active"
    failed, left = run_module("localhost", "swarmnet.overlay.swarm_join", args)
    assert not failed and left["changed"], left.get("msg")
    assert spare[1].check_output(state) == "inactive"
    failed, again = run_module("localhost", "swarmnet.overlay.swarm_join", args)
    assert not failed and not again["changed"], again.get("msg")


def test_environment_fallbacks_as_community_docker(tls_engine, certs):
    env = {"DOCKER_HOST": tls_engine["docker_host"], "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": certs["dir"]}
    failed, result = run_module("localhost", "swarmnet.overlay.swarm_join", {"state": "absent"}, check=True, env=env)
    assert not failed, result.get("msg")
    # ca_path in the task wins over DOCKER_CERT_PATH/ca.pem; the TLS error proves DOCKER_HOST and DOCKER_TLS_VERIFY were read.
    failed, wrong_ca = run_module("localhost", "swarmnet.overlay.swarm_join", {"state": "absent", "ca_path": certs["wrong-ca.pem"]},
                                  check=True, env=env)
    assert failed and "not signed by the CA in ca_path" in wrong_ca["msg"], wrong_ca


def test_tls_hostname(tls_engine, certs):
    failed, result = run_module("localhost", "swarmnet.overlay.swarm_join",
                                _tls(tls_engine, certs, state="absent", tls_hostname=tls_engine["name"]), check=True)
    assert not failed, result.get("msg")
    failed, result = run_module("localhost", "swarmnet.overlay.swarm_join",
                                _tls(tls_engine, certs, state="absent", tls_hostname="not-this-node.invalid"), check=True)
    assert failed and "not valid for not-this-node.invalid" in result["msg"] and "tls_hostname" in result["msg"], result
    _no_secret_no_traceback(result, certs)


@pytest.mark.parametrize("module", ["swarm_join", "overlay_network", "service_endpoint_probe"])
def test_wrong_ca_fails_with_a_message_that_says_so(tls_engine, certs, module):
    args = {"swarm_join": {"state": "absent"}, "overlay_network": {"name": NETWORK},
            "service_endpoint_probe": {"service": SERVICE, "network": NETWORK}}[module]
    failed, result = run_module("localhost", "swarmnet.overlay." + module, _tls(tls_engine, certs, ca_path=certs["wrong-ca.pem"], **args))
    assert failed
    assert "TLS verification failed" in result["msg"] and "not signed by the CA in ca_path" in result["msg"], result["msg"]
    assert certs["wrong-ca.pem"] in result["msg"]
    _no_secret_no_traceback(result, certs)

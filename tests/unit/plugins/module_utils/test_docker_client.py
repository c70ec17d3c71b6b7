# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""docker_client: connection options as community.docker reads them (pure parts).

The TLS handshakes themselves are proven against a real engine in
molecule/lab/tests/test_tls_connection.py.
"""

import ssl

import pytest
from ansible.module_utils.basic import env_fallback

from ansible_collections.swarmnet.overlay.plugins.module_utils import docker_client as dc

NO_OPTIONS = {name: None for name in dc.DOCKER_COMMON_ARGS}


def _params(**given):
    params = dict(NO_OPTIONS)
    for name, spec in dc.DOCKER_COMMON_ARGS.items():
        params[name] = spec.get("default")
    params.update(given)
    return params


def test_options_and_environment_variables_are_community_dockers():
    fallbacks = {name: spec["fallback"][1] for name, spec in dc.DOCKER_COMMON_ARGS.items() if "fallback" in spec}
    assert fallbacks == {"docker_host": ["DOCKER_HOST"], "tls_hostname": ["DOCKER_TLS_HOSTNAME"],
                         "api_version": ["DOCKER_API_VERSION"], "timeout": ["DOCKER_TIMEOUT"], "tls": ["DOCKER_TLS"],
                         "validate_certs": ["DOCKER_TLS_VERIFY"]}
    assert all(spec["fallback"][0] is env_fallback for spec in dc.DOCKER_COMMON_ARGS.values() if "fallback" in spec)
    assert dc.DOCKER_COMMON_ARGS["ca_path"]["aliases"] == ["ca_cert", "tls_ca_cert", "cacert_path"]
    assert dc.DOCKER_COMMON_ARGS["validate_certs"]["aliases"] == ["tls_verify"]


def test_local_socket_by_default_without_tls():
    settings = dc.connection_settings(_params(), environ={})
    assert settings["base_url"] == "unix:///var/run/docker.sock"
    assert (settings["tls"], settings["verify"], settings["ca_path"], settings["version"]) == (False, False, None, "auto")


def test_validate_certs_turns_tcp_into_https_and_reads_docker_cert_path():
    settings = dc.connection_settings(_params(docker_host="tcp://192.0.2.23:2376", validate_certs=True),
                                      environ={"DOCKER_CERT_PATH": "/certs"})
    assert settings["base_url"] == "https://192.0.2.23:2376"
    assert (settings["ca_path"], settings["client_cert"], settings["client_key"]) == (
        "/certs/ca.pem", "/certs/cert.pem", "/certs/key.pem")
    assert settings["verify"] and settings["tls_hostname"] is None


def test_task_options_win_over_docker_cert_path():
    settings = dc.connection_settings(_params(docker_host="tcp://h:2376", validate_certs=True, ca_path="/mine/ca.pem",
                                              tls_hostname="node1"), environ={"DOCKER_CERT_PATH": "/certs"})
    assert settings["ca_path"] == "/mine/ca.pem" and settings["client_cert"] == "/certs/cert.pem"
    assert settings["tls_hostname"] == "node1"


def test_tls_without_verification_ignores_the_ca():
    settings = dc.connection_settings(_params(docker_host="tcp://h:2376", tls=True, ca_path="/ca.pem"), environ={})
    assert settings["tls"] and not settings["verify"] and settings["base_url"] == "https://h:2376"


@pytest.mark.parametrize("given, words", [
    ({"docker_host": "unix:///var/run/docker.sock", "validate_certs": True}, ["docker_host", "tcp://"]),
    ({"docker_host": "tcp://h:2376", "tls": True, "client_cert": "/c.pem"}, ["client_cert and client_key", "only client_cert"]),
])
def test_contradictions_name_the_option(given, words):
    with pytest.raises(dc.ConnectionSettingsError) as info:
        dc.connection_settings(_params(**given), environ={})
    for word in words:
        assert word in str(info.value)


def _verify_error(message):
    exc = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: %s" % message)
    exc.verify_message = message
    wrapper = dc.DockerException("Error while fetching server API version: %s" % exc)
    wrapper.__cause__ = exc
    return wrapper


def test_wrong_ca_is_named():
    settings = {"ca_path": "/etc/ca.pem", "tls_hostname": None, "base_url": "https://h:2376"}
    text = dc.describe_connection_error(_verify_error("unable to get local issuer certificate"), settings)
    assert text.startswith("TLS verification failed: the engine's certificate is not signed by the CA in ca_path (/etc/ca.pem)")


def test_hostname_mismatch_points_at_tls_hostname():
    settings = {"ca_path": "/etc/ca.pem", "tls_hostname": None, "base_url": "https://192.0.2.23:2376"}
    text = dc.describe_connection_error(_verify_error("Hostname mismatch, certificate is not valid for '192.0.2.23'."), settings)
    assert "not valid for 192.0.2.23" in text and "tls_hostname" in text


def test_other_errors_pass_through():
    settings = {"ca_path": None, "tls_hostname": None, "base_url": "unix:///var/run/docker.sock"}
    assert dc.describe_connection_error(dc.DockerException("connection refused"), settings) == "connection refused"

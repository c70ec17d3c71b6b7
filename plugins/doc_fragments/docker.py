# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    """Options shared by every module that talks to a Docker engine (community.docker's names)."""

    DOCUMENTATION = r"""
options:
  docker_host:
    description:
      - The URL or Unix socket path of the Docker engine API. By default the engine of the node the task runs on.
      - To reach an engine over the network give its TCP address, for example V(tcp://192.0.2.23:2376). With O(tls)
        or O(validate_certs), C(tcp://) is replaced by C(https://).
      - If not set in the task, the environment variable E(DOCKER_HOST) is used; if that is not set either, the default.
    type: str
    default: unix:///var/run/docker.sock
    aliases: [docker_url]
  tls_hostname:
    description:
      - When verifying the engine's certificate (O(validate_certs)), the name the certificate must hold.
      - When not set, the host part of O(docker_host) is checked.
      - If not set in the task, the environment variable E(DOCKER_TLS_HOSTNAME) is used.
    type: str
  api_version:
    description:
      - The Docker engine API version to speak. V(auto) asks the engine and uses the newest version both sides support.
      - If not set in the task, the environment variable E(DOCKER_API_VERSION) is used; if that is not set either, the default.
    type: str
    default: auto
    aliases: [docker_api_version]
  timeout:
    description:
      - Seconds to wait for an answer from the Docker engine API.
      - If not set in the task, the environment variable E(DOCKER_TIMEOUT) is used; if that is not set either, the default.
    type: int
    default: 60
  ca_path:
    description:
      - CA certificate file the engine's certificate must be signed by (with O(validate_certs)).
      - If not set in the task and the environment variable E(DOCKER_CERT_PATH) is set, the file C(ca.pem) in that
        directory is used.
    type: path
    aliases: [ca_cert, tls_ca_cert, cacert_path]
  client_cert:
    description:
      - Client TLS certificate file, for an engine that verifies its clients (C(dockerd --tlsverify)). Needs O(client_key).
      - If not set in the task and the environment variable E(DOCKER_CERT_PATH) is set, the file C(cert.pem) in that
        directory is used.
    type: path
    aliases: [tls_client_cert, cert_path]
  client_key:
    description:
      - Private key file of O(client_cert). Its content is never read by the module nor shown.
      - If not set in the task and the environment variable E(DOCKER_CERT_PATH) is set, the file C(key.pem) in that
        directory is used.
    type: path
    aliases: [tls_client_key, key_path]
  tls:
    description:
      - Talk TLS to the engine without verifying its certificate. O(validate_certs=true) takes precedence.
      - If not set in the task, the environment variable E(DOCKER_TLS) is used; if that is not set either, the default.
    type: bool
    default: false
  validate_certs:
    description:
      - Talk TLS to the engine and verify its certificate against O(ca_path) and its name against O(tls_hostname).
      - If not set in the task, the environment variable E(DOCKER_TLS_VERIFY) is used; if that is not set either, the default.
    type: bool
    default: false
    aliases: [tls_verify]
notes:
  - The connection options have the names, aliases, defaults and environment variables of community.docker's modules,
    so one C(module_defaults) entry for the action group C(swarmnet.overlay.docker) (see the README) or one set of
    E(DOCKER_*) variables serves both collections. The environment variables are read on the host the module runs on.
  - A failed TLS verification fails the task with a message naming the option to fix (O(ca_path) or O(tls_hostname)),
    without a traceback.
requirements:
  - docker (the Docker SDK for Python) on the host the module runs on
"""

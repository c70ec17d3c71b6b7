# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place where swarmnet.overlay modules get a Docker client.

Modules talk to an engine through the Docker SDK for Python (the ``docker``
package): by default the local socket of the node they run on, or any engine
the connection options name (TCP, optionally with TLS). The options, their
environment fallbacks and their meaning are those of community.docker (see
the doc fragment swarmnet.overlay.docker), so one ``module_defaults`` block or
one set of ``DOCKER_*`` variables serves both collections.

connection_settings() is pure (unit-tested); get_docker_client() builds the
client from it and turns a missing SDK, an unreachable engine or a failed TLS
handshake into a clear failure, without a traceback.
"""

import os
import ssl
import traceback
from urllib.parse import urlparse

from ansible.module_utils.basic import env_fallback, missing_required_lib

try:
    import docker
    import requests
    from docker.errors import APIError, DockerException, NotFound  # noqa: F401 pylint: disable=unused-import

    HAS_DOCKER_SDK = True
    DOCKER_SDK_IMPORT_ERROR = None
except ImportError:
    HAS_DOCKER_SDK = False
    DOCKER_SDK_IMPORT_ERROR = traceback.format_exc()

    class DockerException(Exception):
        """Stand-in so that ``except DockerException`` works without the SDK."""

    class APIError(DockerException):
        """Stand-in for docker.errors.APIError."""

    class NotFound(APIError):
        """Stand-in for docker.errors.NotFound."""

# Every call to the engine can raise DockerException (its refusals: APIError) and
# RequestException (no answer: ReadTimeout, ConnectionError): the SDK does not
# wrap the transport's errors, so callers catch both.
try:
    from requests.exceptions import RequestException
except ImportError:
    class RequestException(IOError):
        """Stand-in for requests.exceptions.RequestException."""


DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"

# Options every module accepts, merged into its own argument_spec: the names,
# aliases, defaults and environment fallbacks of community.docker's
# DOCKER_COMMON_ARGS (without use_ssh_client and debug).
DOCKER_COMMON_ARGS = dict(
    docker_host=dict(type="str", default=DEFAULT_DOCKER_HOST, fallback=(env_fallback, ["DOCKER_HOST"]), aliases=["docker_url"]),
    tls_hostname=dict(type="str", fallback=(env_fallback, ["DOCKER_TLS_HOSTNAME"])),
    api_version=dict(type="str", default="auto", fallback=(env_fallback, ["DOCKER_API_VERSION"]), aliases=["docker_api_version"]),
    timeout=dict(type="int", default=60, fallback=(env_fallback, ["DOCKER_TIMEOUT"])),
    ca_path=dict(type="path", aliases=["ca_cert", "tls_ca_cert", "cacert_path"]),
    client_cert=dict(type="path", aliases=["tls_client_cert", "cert_path"]),
    client_key=dict(type="path", aliases=["tls_client_key", "key_path"]),
    tls=dict(type="bool", default=False, fallback=(env_fallback, ["DOCKER_TLS"])),
    validate_certs=dict(type="bool", default=False, fallback=(env_fallback, ["DOCKER_TLS_VERIFY"]), aliases=["tls_verify"]),
)

# DOCKER_CERT_PATH names a directory holding these files (as the docker CLI reads it).
CERT_PATH_FILES = dict(ca_path="ca.pem", client_cert="cert.pem", client_key="key.pem")


class ConnectionSettingsError(Exception):
    """The connection options contradict each other; the message names the option and the fix."""


def docker_common_args(**extra):
    """Return a module's argument_spec: the common options plus its own."""
    spec = dict(DOCKER_COMMON_ARGS)
    spec.update(extra)
    return spec


def api_error_text(exc):
    """The engine's own explanation from an APIError, without the HTTP noise.

    For a transport error (requests' ReadTimeout, ConnectionError) it says
    that the engine did not answer, and how.
    """
    # APIError is itself a requests HTTPError: only a transport error without the engine's answer is "no answer".
    if isinstance(exc, RequestException) and not isinstance(exc, DockerException):
        return "the Docker engine did not answer (%s: %s); check that dockerd runs and responds, or raise timeout" % (
            type(exc).__name__, exc)
    explanation = getattr(exc, "explanation", None)
    if explanation:
        if isinstance(explanation, bytes):
            explanation = explanation.decode("utf-8", "replace")
        return str(explanation).strip()
    return str(exc)


def connection_settings(params, environ=None):
    """What the client needs, from the module's connection options (pure).

    Returns {base_url, version, timeout, tls, verify, ca_path, client_cert,
    client_key, tls_hostname}. Files missing from the options come from
    E(DOCKER_CERT_PATH) as community.docker does. With tls or validate_certs,
    a tcp:// URL becomes https://.
    """
    environ = os.environ if environ is None else environ
    files = {}
    cert_dir = environ.get("DOCKER_CERT_PATH")
    for option, filename in CERT_PATH_FILES.items():
        files[option] = params.get(option) or (os.path.join(cert_dir, filename) if cert_dir else None)
    verify = bool(params.get("validate_certs"))
    tls = verify or bool(params.get("tls"))
    base_url = params.get("docker_host") or DEFAULT_DOCKER_HOST
    if tls:
        if base_url.startswith("tcp://"):
            base_url = "https://" + base_url[len("tcp://"):]
        elif not base_url.startswith("https://"):
            raise ConnectionSettingsError(
                "docker_host %s cannot use TLS (tls/validate_certs are set): TLS needs a tcp:// or https:// "
                "address such as tcp://192.0.2.23:2376" % base_url)
    if bool(files["client_cert"]) != bool(files["client_key"]):
        raise ConnectionSettingsError(
            "client_cert and client_key go together: only %s is set (or set DOCKER_CERT_PATH to a directory "
            "with cert.pem and key.pem)" % ("client_cert" if files["client_cert"] else "client_key"))
    # Without tls_hostname, urllib3 checks the certificate against the address in docker_host.
    hostname = params.get("tls_hostname")
    return dict(
        base_url=base_url,
        version=params.get("api_version") or "auto",
        timeout=params.get("timeout") or 60,
        tls=tls,
        verify=verify,
        ca_path=files["ca_path"] if tls else None,
        client_cert=files["client_cert"] if tls else None,
        client_key=files["client_key"] if tls else None,
        tls_hostname=hostname if verify else None,
    )


def describe_connection_error(exc, settings):
    """One sentence for a failed connection; a TLS failure says which option to fix."""
    text = str(exc)
    cause = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            break
        cause = cause.__cause__ or cause.__context__
    verify_message = getattr(cause, "verify_message", None) or ""
    if "hostname mismatch" in verify_message or "Hostname mismatch" in text or "doesn't match" in text:
        return ("TLS verification failed: the engine's certificate is not valid for %s. Set tls_hostname "
                "(DOCKER_TLS_HOSTNAME) to a name the certificate holds"
                % (settings["tls_hostname"] or urlparse(settings["base_url"]).hostname))
    if cause is not None or "CERTIFICATE_VERIFY_FAILED" in text:
        detail = ": %s" % verify_message if verify_message else ""
        return ("TLS verification failed: the engine's certificate is not signed by the CA in ca_path (%s)%s. "
                "Check ca_path or DOCKER_CERT_PATH" % (settings["ca_path"] or "none given: the system CAs were used", detail))
    if "SSL" in text or "TLS" in text:
        return ("the TLS handshake failed (does the engine listen with TLS on that port, and does it accept the "
                "client certificate in client_cert?): %s" % text)
    return text


def _tls_client_kwargs(settings):
    """The SDK's tls argument for these settings."""
    if not settings["tls"]:
        return False
    client_cert = (settings["client_cert"], settings["client_key"]) if settings["client_cert"] else None
    return docker.tls.TLSConfig(
        client_cert=client_cert,
        ca_cert=settings["ca_path"] if settings["verify"] else None,
        verify=settings["verify"],
    )


def _mount_tls_adapter(client, ca_path, hostname):
    """Verify the engine's certificate against ca_path, and its name against tls_hostname when given.

    requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE in the environment win
    over a session's own CA file (psf/requests#3829), which would silently
    replace ca_path; this adapter passes ca_path on every request. Docker
    SDK 7 dropped assert_hostname from TLSConfig; urllib3 still takes it as a
    pool argument.
    """
    class TLSAdapter(requests.adapters.HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs):
            if hostname:
                kwargs["assert_hostname"] = hostname
            return super().init_poolmanager(*args, **kwargs)

        def send(self, request, **kwargs):  # pylint: disable=arguments-differ
            if ca_path:
                kwargs["verify"] = ca_path
            return super().send(request, **kwargs)

    client.api.mount("https://", TLSAdapter())


def get_docker_client(module):
    """Return a docker.DockerClient for module.params, or fail the module."""
    if not HAS_DOCKER_SDK:
        module.fail_json(
            msg=missing_required_lib("docker (the Docker SDK for Python)"),
            exception=DOCKER_SDK_IMPORT_ERROR,
        )
    try:
        settings = connection_settings(module.params)
    except ConnectionSettingsError as exc:
        module.fail_json(msg=str(exc))
    for option in ("ca_path", "client_cert", "client_key"):
        if settings[option] and not os.path.isfile(settings[option]):
            module.fail_json(msg="%s: %s is not a file where the module runs (set %s, or DOCKER_CERT_PATH to a directory "
                             "holding %s). Nothing was changed." % (option, settings[option], option, CERT_PATH_FILES[option]))
    auto_version = settings["version"].lower() == "auto"
    try:
        # When verifying, the adapter must be in place before the first
        # request, so the API version is asked for afterwards.
        client = docker.DockerClient(
            base_url=settings["base_url"],
            timeout=settings["timeout"],
            version=docker.constants.DEFAULT_DOCKER_API_VERSION if auto_version and settings["verify"] else settings["version"],
            tls=_tls_client_kwargs(settings),
        )
        if settings["verify"]:
            _mount_tls_adapter(client, settings["ca_path"], settings["tls_hostname"])
            if auto_version:
                client.api._version = client.api._retrieve_server_version()  # pylint: disable=protected-access
        client.ping()
    except (DockerException, requests.exceptions.RequestException, OSError) as exc:
        module.fail_json(
            msg="Cannot reach the Docker engine at %s: %s" % (module.params["docker_host"], describe_connection_error(exc, settings)),
        )
    return client

# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place where swarmnet.overlay modules get a Docker client.

Modules run on the node they manage and talk to its engine through the Docker
SDK for Python (the ``docker`` package). This file gives them a shared
argument spec (where the engine is, how long to wait) and a client factory
that turns a missing SDK or an unreachable engine into a clear failure.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible.module_utils.basic import missing_required_lib

try:
    import docker
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


# Options every module accepts, merged into its own argument_spec.
DOCKER_COMMON_ARGS = dict(
    docker_host=dict(
        type="str",
        default="unix:///var/run/docker.sock",
        aliases=["docker_url"],
    ),
    timeout=dict(type="int", default=60),
)


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


def get_docker_client(module):
    """Return a docker.DockerClient for module.params, or fail the module."""
    if not HAS_DOCKER_SDK:
        module.fail_json(
            msg=missing_required_lib("docker (the Docker SDK for Python)"),
            exception=DOCKER_SDK_IMPORT_ERROR,
        )
    try:
        client = docker.DockerClient(
            base_url=module.params["docker_host"],
            timeout=module.params["timeout"],
            version="auto",
        )
        client.ping()
    except DockerException as exc:
        module.fail_json(
            msg="Cannot reach the Docker engine at %s: %s. Is dockerd running on %s?"
            % (module.params["docker_host"], exc, "this node"),
        )
    return client

# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""swarm_unlock and swarm_ca_rotate: bad input fails before any Docker engine is asked, with no secret in the result."""


import json

import pytest
import yaml


from ansible_collections.swarmnet.overlay.plugins.module_utils.docker_client import DOCKER_COMMON_ARGS
from ansible_collections.swarmnet.overlay.tests.unit.plugins.modules.module_harness import FailJson, ReachedDocker, runner_without_docker

from ansible_collections.swarmnet.overlay.plugins.modules import swarm_ca_rotate, swarm_unlock

KEY = "SWMKEY-1-" + "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/abcde"  # made up


@pytest.fixture
def run(monkeypatch):
    return runner_without_docker(monkeypatch, swarm_unlock, swarm_ca_rotate)


def test_unlock_refuses_a_malformed_key_without_printing_it(run):
    bad = "SWMKEY-1-tooShort"
    with pytest.raises(FailJson) as err:
        run(swarm_unlock, dict(unlock_key=bad))
    result = err.value.args[0]
    assert "unlock_key has 8 characters after SWMKEY-1-" in result["msg"] and "Nothing was changed" in result["msg"]
    assert bad not in json.dumps(result)


def test_unlock_with_a_well_formed_key_reaches_docker(run):
    with pytest.raises(ReachedDocker):
        run(swarm_unlock, dict(unlock_key=KEY))


def test_unlock_key_is_required(run):
    with pytest.raises(FailJson) as err:
        run(swarm_unlock, {})
    assert "unlock_key" in err.value.args[0]["msg"]


def test_ca_rotate_needs_cert_and_key_together(run):
    with pytest.raises(FailJson) as err:
        run(swarm_ca_rotate, dict(signing_ca_cert="-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----"))
    assert "signing_ca_cert" in err.value.args[0]["msg"] and "signing_ca_key" in err.value.args[0]["msg"]


def test_ca_rotate_refuses_a_path_for_the_cert(run):
    with pytest.raises(FailJson) as err:
        run(swarm_ca_rotate, dict(signing_ca_cert="/etc/pki/ca.crt", signing_ca_key="-----BEGIN EC PRIVATE KEY-----\nS\n"))
    msg = err.value.args[0]["msg"]
    assert msg.startswith("signing_ca_cert must be the PEM text of a certificate") and "lookup" in msg


def test_ca_rotate_refuses_a_key_that_is_not_pem_without_printing_it(run):
    with pytest.raises(FailJson) as err:
        run(swarm_ca_rotate, dict(signing_ca_cert="-----BEGIN CERTIFICATE-----\nX\n", signing_ca_key="secret-key-text"))
    result = err.value.args[0]
    assert result["msg"].startswith("signing_ca_key must be the PEM text of a private key")
    assert "secret-key-text" not in json.dumps(result)


def test_ca_rotate_without_options_reaches_docker(run):
    with pytest.raises(ReachedDocker) as err:
        run(swarm_ca_rotate, {})
    assert err.value.args[0]["wait_timeout"] == 300


@pytest.mark.parametrize("mod", [swarm_unlock, swarm_ca_rotate])
def test_documented_options_match_the_argument_spec(mod):
    documented = yaml.safe_load(mod.DOCUMENTATION)["options"]
    spec = mod.argument_spec()
    assert set(documented) | set(DOCKER_COMMON_ARGS) == set(spec)
    for name, doc in documented.items():
        assert doc.get("type", "str") == spec[name]["type"], name
        assert doc.get("default") == spec[name].get("default"), name

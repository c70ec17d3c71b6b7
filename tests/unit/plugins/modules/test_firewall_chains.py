# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""firewall_chains: restore lines that iptables-restore would not commit fail before anything is read or written."""

import pytest

from ansible.module_utils import basic

from ansible_collections.swarmnet.overlay.plugins.modules import firewall_chains
from ansible_collections.swarmnet.overlay.tests.unit.plugins.modules.module_harness import FailJson, exit_json, fail_json, module_args


class ReadTheNode(Exception):
    """Raised where the module would first look at the node: validation let the input through."""


@pytest.fixture
def run(monkeypatch):
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)

    def no_reading():
        raise ReadTheNode()
    monkeypatch.setattr(firewall_chains.host, "firewall_boot_state", no_reading)

    def run_module(args):
        with module_args(args):
            firewall_chains.main()
    return run_module


@pytest.mark.parametrize("lines", [["-A X -j ACCEPT", "COMMIT"], ["*filter", "-A X -j ACCEPT"]])
def test_restore_lines_without_filter_or_commit_are_refused(run, lines):
    with pytest.raises(FailJson) as err:
        run(dict(restore=lines))
    assert "restore must run from '*filter' to 'COMMIT'" in err.value.args[0]["msg"]
    assert "Nothing was changed" in err.value.args[0]["msg"]


def test_well_formed_lines_go_on_to_read_the_node(run):
    with pytest.raises(ReadTheNode):
        run(dict(restore=["*filter", "-A X -j ACCEPT", "COMMIT"]))

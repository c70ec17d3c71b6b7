# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""firewall_chains: which writes a node needs, from what node_facts read of its boot files."""

from ansible_collections.swarmnet.overlay.plugins.module_utils.firewall_chains_plan import plan_diff, plan_writes

RULES = "*filter\n:SWARMNET-INPUT - [0:0]\n-A SWARMNET-INPUT -s 10.0.0.11/32 -j ACCEPT\nCOMMIT\n"
UNIT = "[Unit]\nDescription=test\n"
RESTORE = ["*filter", "-I INPUT 1 -j SWARMNET-INPUT", "COMMIT"]
KEPT = dict(rules=RULES, unit=UNIT, enabled=True, systemd=True)
FRESH = dict(rules=None, unit=None, enabled=False, systemd=True)


def test_a_node_that_keeps_what_is_wanted_needs_nothing():
    assert plan_writes(KEPT, [], RULES, UNIT) == dict(restore=False, write_rules=False, write_unit=False, enable=False)


def test_a_fresh_node_gets_everything():
    assert plan_writes(FRESH, RESTORE, RULES, UNIT) == dict(restore=True, write_rules=True, write_unit=True, enable=True)


def test_changed_rules_rewrite_the_file_only():
    assert plan_writes(dict(KEPT, rules="*filter\nCOMMIT\n"), [], RULES, UNIT) == dict(
        restore=False, write_rules=True, write_unit=False, enable=False)


def test_a_disabled_unit_is_enabled_and_a_rewritten_one_enabled_again():
    assert plan_writes(dict(KEPT, enabled=False), [], RULES, UNIT)["enable"] is True
    assert plan_writes(dict(KEPT, unit="old"), [], RULES, UNIT) == dict(
        restore=False, write_rules=False, write_unit=True, enable=True)


def test_without_systemd_only_the_rules_file_is_kept():
    assert plan_writes(dict(FRESH, systemd=False), [], RULES, UNIT) == dict(
        restore=False, write_rules=True, write_unit=False, enable=False)


def test_omitted_boot_contents_leave_the_files_alone():
    assert plan_writes(FRESH, RESTORE, None, None) == dict(restore=True, write_rules=False, write_unit=False, enable=False)


def test_the_diff_names_each_write_with_before_and_after():
    plan = plan_writes(dict(KEPT, rules="old rules\n", enabled=False), RESTORE, RULES, UNIT)
    diff = plan_diff(dict(KEPT, rules="old rules\n", enabled=False), plan, RESTORE, RULES, UNIT, "/r", "/u")
    assert diff == [
        dict(before_header="iptables now", after_header="iptables-restore --noflush", before="", after="\n".join(RESTORE) + "\n"),
        dict(before_header="/r", after_header="/r", before="old rules\n", after=RULES),
        dict(before_header="enabled at boot", after_header="enabled at boot", before="False\n", after="True\n"),
    ]
    assert plan_diff(KEPT, plan_writes(KEPT, [], RULES, UNIT), [], RULES, UNIT, "/r", "/u") == []

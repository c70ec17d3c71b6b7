# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""firewall_chains: which writes a node needs, from what node_facts read of its boot files."""

from ansible_collections.swarmnet.overlay.plugins.module_utils.firewall_chains_plan import (
    BOOT_RULES_HEADER, boot_rules_file, chains_to_create, plan_diff, plan_writes, published_chain_rules, swarm_chain_rules)

RULES = "*filter\n:SWARMNET-INPUT - [0:0]\n-A SWARMNET-INPUT -s 10.0.0.11/32 -j ACCEPT\nCOMMIT\n"
UNIT = "[Unit]\nDescription=test\n"
RESTORE = ["*filter", "-I INPUT 1 -j SWARMNET-INPUT", "COMMIT"]
KEPT = dict(rules=RULES, unit=UNIT, enabled=True, systemd=True)
FRESH = dict(rules=None, unit=None, enabled=False, systemd=True)


def test_a_node_that_keeps_what_is_wanted_needs_nothing():
    assert plan_writes(KEPT, [], RULES, UNIT) == dict(restore=False, write_rules=False, write_unit=False, enable=False, reload=False)


def test_a_fresh_node_gets_everything():
    assert plan_writes(FRESH, RESTORE, RULES, UNIT) == dict(restore=True, write_rules=True, write_unit=True, enable=True, reload=False)


def test_changed_rules_rewrite_the_file_only():
    assert plan_writes(dict(KEPT, rules="*filter\nCOMMIT\n"), [], RULES, UNIT) == dict(
        restore=False, write_rules=True, write_unit=False, enable=False, reload=False)


def test_a_disabled_unit_is_enabled_and_a_rewritten_one_enabled_again():
    assert plan_writes(dict(KEPT, enabled=False), [], RULES, UNIT)["enable"] is True
    assert plan_writes(dict(KEPT, unit="old"), [], RULES, UNIT) == dict(
        restore=False, write_rules=False, write_unit=True, enable=True, reload=True)


def test_systemd_reloads_only_where_it_may_hold_an_older_copy_of_the_unit():
    assert plan_writes(FRESH, RESTORE, RULES, UNIT)["reload"] is False, "a new unit is read from disk at boot"
    assert plan_writes(dict(KEPT, enabled=False), [], RULES, UNIT)["reload"] is False, "an unchanged unit, link only"
    assert plan_writes(dict(KEPT, unit="old"), [], RULES, UNIT)["reload"] is True
    assert plan_writes(dict(KEPT, unit="old", systemd=False), [], RULES, UNIT)["reload"] is False


def test_without_systemd_only_the_rules_file_is_kept():
    assert plan_writes(dict(FRESH, systemd=False), [], RULES, UNIT) == dict(
        restore=False, write_rules=True, write_unit=False, enable=False, reload=False)


def test_omitted_boot_contents_leave_the_files_alone():
    assert plan_writes(FRESH, RESTORE, None, None) == dict(restore=True, write_rules=False, write_unit=False, enable=False, reload=False)


def test_the_diff_names_each_write_with_before_and_after():
    plan = plan_writes(dict(KEPT, rules="old rules\n", enabled=False), RESTORE, RULES, UNIT)
    diff = plan_diff(dict(KEPT, rules="old rules\n", enabled=False), plan, RESTORE, RULES, UNIT, "/r", "/u")
    assert diff == [
        dict(before_header="iptables now", after_header="iptables-restore --noflush", before="", after="\n".join(RESTORE) + "\n"),
        dict(before_header="/r", after_header="/r", before="old rules\n", after=RULES),
        dict(before_header="enabled at boot", after_header="enabled at boot", before="False\n", after="True\n"),
    ]
    assert plan_diff(KEPT, plan_writes(KEPT, [], RULES, UNIT), [], RULES, UNIT, "/r", "/u") == []


def test_chains_to_create_are_the_ones_used_but_not_declared_nor_built_in():
    restore = ["*filter", ":INPUT DROP [0:0]", ":SWARMNET-INPUT - [0:0]", "-A SWARMNET-INPUT -i lo -j ACCEPT",
               "-I INPUT 3 -m comment --comment swarmnet -j SWARMNET-INPUT", ":SWARMNET-PUBLISHED - [0:0]",
               "-A SWARMNET-PUBLISHED -i docker+ -j RETURN",
               "-I DOCKER-USER 1 -m comment --comment swarmnet -j SWARMNET-PUBLISHED", "COMMIT"]
    # DOCKER-USER is Docker's: declaring it would flush it, so it is only created where missing.
    assert chains_to_create(restore) == ["DOCKER-USER"]


def test_no_chain_to_create_when_every_chain_used_is_declared_or_built_in():
    assert chains_to_create(["*filter", ":SWARMNET-INPUT - [0:0]", "-A SWARMNET-INPUT -j ACCEPT",
                             "-I INPUT 1 -j SWARMNET-INPUT", "-A FORWARD -j ACCEPT", "COMMIT"]) == []
    assert chains_to_create([]) == []


# The chains' rules: the lines must be exactly what `iptables -S CHAIN` prints, or every run would rewrite the chain
# (these are the lines the role's templates wrote before the filters replaced them, and iptables printed back).
GOSSIP = dict(proto="tcp", port=7946, why="swarm-gossip")
VXLAN = dict(proto="udp", port=4789, why="overlay-vxlan")


def test_swarm_chain_opens_each_port_to_each_source_and_cidrs_stay_as_given():
    assert swarm_chain_rules("SWARMNET-INPUT", ["10.0.0.11", "10.0.1.0/24"], [GOSSIP, VXLAN]) == [
        "-A SWARMNET-INPUT -s 10.0.0.11/32 -p tcp -m tcp --dport 7946 -m comment --comment swarm-gossip -j ACCEPT",
        "-A SWARMNET-INPUT -s 10.0.0.11/32 -p udp -m udp --dport 4789 -m comment --comment overlay-vxlan -j ACCEPT",
        "-A SWARMNET-INPUT -s 10.0.1.0/24 -p tcp -m tcp --dport 7946 -m comment --comment swarm-gossip -j ACCEPT",
        "-A SWARMNET-INPUT -s 10.0.1.0/24 -p udp -m udp --dport 4789 -m comment --comment overlay-vxlan -j ACCEPT",
    ]


def test_swarm_chain_with_default_deny_keeps_loopback_replies_and_ssh_first():
    rules = swarm_chain_rules("C", ["10.0.0.11"], [GOSSIP], ssh_ports=[22, 2222], default_deny=True)
    assert rules == [
        "-A C -i lo -j ACCEPT",
        "-A C -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        "-A C -p tcp -m tcp --dport 22 -m comment --comment ssh-kept-open -j ACCEPT",
        "-A C -p tcp -m tcp --dport 2222 -m comment --comment ssh-kept-open -j ACCEPT",
        "-A C -s 10.0.0.11/32 -p tcp -m tcp --dport 7946 -m comment --comment swarm-gossip -j ACCEPT",
    ]


def test_swarm_chain_ignores_ssh_ports_without_default_deny_and_adds_esp_per_source():
    assert swarm_chain_rules("C", ["10.0.0.11"], [GOSSIP], ssh_ports=[22], allow_esp=True) == [
        "-A C -s 10.0.0.11/32 -p tcp -m tcp --dport 7946 -m comment --comment swarm-gossip -j ACCEPT",
        "-A C -s 10.0.0.11/32 -p esp -m comment --comment overlay-encryption -j ACCEPT",
    ]


def test_swarm_chain_without_sources_or_deny_is_empty():
    assert swarm_chain_rules("C", [], [GOSSIP, VXLAN]) == []


def test_published_chain_returns_replies_bridges_and_allowed_sources_then_drops_dnat():
    assert published_chain_rules("P", ["192.0.2.0/24", "198.51.100.7"]) == [
        "-A P -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
        "-A P -i docker+ -j RETURN",
        "-A P -i br-+ -j RETURN",
        "-A P -i veth+ -j RETURN",
        "-A P -s 192.0.2.0/24 -j RETURN",
        "-A P -s 198.51.100.7/32 -j RETURN",
        "-A P -m conntrack --ctstate DNAT -m comment --comment published-port-source-not-allowed -j DROP",
    ]


# As a lab node keeps it (written by the role's template before the filter replaced it).
BOOT_FILE_PUBLISHED_ONLY = """# Written by the swarmnet.overlay firewall role; rewritten by it, do not edit.
*filter
:SWARMNET-PUBLISHED - [0:0]
-A SWARMNET-PUBLISHED -i docker+ -j RETURN
-I DOCKER-USER 1 -m comment --comment swarmnet -j SWARMNET-PUBLISHED
COMMIT
"""


def test_boot_file_where_firewalld_or_ufw_keeps_the_swarm_ports_holds_the_published_chain_only():
    assert boot_rules_file(["-A SWARMNET-INPUT -i lo -j ACCEPT"], None, ["-A SWARMNET-PUBLISHED -i docker+ -j RETURN"],
                           "SWARMNET-PUBLISHED", default_deny=True) == BOOT_FILE_PUBLISHED_ONLY


def test_boot_file_of_the_iptables_backend_declares_both_chains_then_rules_and_jumps():
    text = boot_rules_file(["-A S -i lo -j ACCEPT"], "S", ["-A P -i docker+ -j RETURN"], "P", default_deny=True)
    assert text.split("\n") == [
        "# Written by the swarmnet.overlay firewall role; rewritten by it, do not edit.",
        "*filter", ":INPUT DROP [0:0]", ":S - [0:0]", ":P - [0:0]",
        "-A S -i lo -j ACCEPT", "-I INPUT 1 -m comment --comment swarmnet -j S",
        "-A P -i docker+ -j RETURN", "-I DOCKER-USER 1 -m comment --comment swarmnet -j P",
        "COMMIT", ""]


def test_boot_file_without_default_deny_or_published_sources_keeps_input_policy_and_no_published_chain():
    assert boot_rules_file([], "S", [], "P") == (
        BOOT_RULES_HEADER + "\n*filter\n:S - [0:0]\n-I INPUT 1 -m comment --comment swarmnet -j S\nCOMMIT\n")
    assert boot_rules_file([], None, [], "P") == BOOT_RULES_HEADER + "\n*filter\nCOMMIT\n"

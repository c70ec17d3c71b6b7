# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The firewall role's plans: the cluster's addresses once per play, and per host what differs."""

from ansible_collections.swarmnet.overlay.plugins.filter.firewall_rules import FilterModule
from ansible_collections.swarmnet.overlay.plugins.module_utils.firewall_chains_plan import (
    boot_rules_file, published_chain_rules, swarm_chain_rules)
from ansible_collections.swarmnet.overlay.plugins.module_utils.firewall_role_plan import (
    cluster_addresses, input_errors, node_plan, swarm_ports)

CHAIN = "SWARMNET-INPUT"
PUBLISHED = "SWARMNET-PUBLISHED"
UNIT = "[Unit]\nDescription=swarmnet\n"
SETTINGS = dict(host="w1", backend="auto", iptables_chain=CHAIN, published_chain=PUBLISHED, default_deny=False,
                allow_esp=False, ssh_port=22, ssh_ports=[], extra_sources=[], published_sources=[],
                data_path_port=4789, is_manager=False, node_address="", boot_unit=UNIT)
CLUSTER = dict(nodes={}, unknown=[], ipv6=[], sources=["10.0.0.11", "10.0.0.12"])


def reading(backend="iptables", cluster=("10.0.0.12",), chain_rules=None, boot_rules=None, **iptables):
    """A node_facts reading (`node`) of a node, converged unless told otherwise."""
    state = dict(chain_rules=chain_rules or [], input_jumps_first=True, input_jump_at=1, input_policy="ACCEPT",
                 published_chain_rules=[], docker_user_jumps_first=False)
    state.update(iptables)
    return dict(addresses=dict(cluster=list(cluster)), ssh=dict(listen_ports=[22]),
                swarm=dict(nodes=[], remote_managers=[]),
                firewall=dict(backend=backend, iptables=state, ufw=dict(rules=[]),
                              firewalld=dict(permanent=dict(rich_rules=[])),
                              boot=dict(rules=boot_rules, systemd=True, unit=UNIT, enabled=True)))


def converged(sources=("10.0.0.11", "10.0.0.12"), **settings):
    """The reading of an iptables node that has exactly what the role wants."""
    wanted = dict(SETTINGS, **settings)
    rules = swarm_chain_rules(CHAIN, list(sources), swarm_ports(wanted["is_manager"], 4789))
    return reading(chain_rules=["-N " + CHAIN] + rules,
                   boot_rules=boot_rules_file(rules, CHAIN, [], PUBLISHED, False))


def test_a_converged_iptables_node_is_done_with_nothing_to_write():
    plan = node_plan(converged(), CLUSTER, SETTINGS)
    assert plan["errors"] == [] and plan["restore"] == [] and not plan["boot_work"]
    assert plan["done"] is True and plan["work"] is False


def test_a_new_node_rewrites_the_chain_as_a_whole_in_one_restore():
    plan = node_plan(converged(), dict(CLUSTER, sources=CLUSTER["sources"] + ["10.0.0.13"]), SETTINGS)
    assert plan["restore"][0] == "*filter" and plan["restore"][-1] == "COMMIT"
    assert plan["restore"][1] == ":%s - [0:0]" % CHAIN
    assert any("-s 10.0.0.13/32" in line for line in plan["restore"])
    assert plan["boot_work"] and plan["work"] and not plan["done"]


def test_a_missing_jump_goes_where_node_facts_says_below_dockers_drops():
    plan = node_plan(dict(converged(), firewall=dict(converged()["firewall"],
                                                     iptables=dict(converged()["firewall"]["iptables"],
                                                                   input_jumps_first=False, input_jump_at=3))),
                     CLUSTER, SETTINGS)
    assert plan["restore"] == ["*filter", "-I INPUT 3 -m comment --comment swarmnet -j %s" % CHAIN, "COMMIT"]


def test_default_deny_sets_the_policy_and_lifting_it_gives_accept_back():
    deny = dict(SETTINGS, default_deny=True)
    plan = node_plan(converged(), CLUSTER, deny)
    assert plan["restore"][1] == ":INPUT DROP [0:0]"
    assert "-A %s -p tcp -m tcp --dport 22 -m comment --comment ssh-kept-open -j ACCEPT" % CHAIN in plan["restore"]
    denied = reading(chain_rules=["-N " + CHAIN, "-A %s -i lo -j ACCEPT" % CHAIN], input_policy="DROP")
    assert node_plan(denied, CLUSTER, SETTINGS)["restore"][1] == ":INPUT ACCEPT [0:0]"


def test_while_a_node_is_unknown_the_sources_allowed_now_are_kept():
    now = converged(sources=("10.0.0.11", "10.0.0.12", "10.0.0.99"))
    plan = node_plan(now, dict(CLUSTER, unknown=["w9"]), SETTINGS)
    assert plan["sources"] == ["10.0.0.11", "10.0.0.12", "10.0.0.99"] and plan["done"]
    # Known again: the node that left is pruned.
    assert node_plan(now, CLUSTER, SETTINGS)["sources"] == ["10.0.0.11", "10.0.0.12"]


def test_sources_kept_are_read_from_ufw_and_firewalld_too():
    ufw = reading(backend="ufw")
    ufw["firewall"]["ufw"]["rules"] = [{"from": "10.0.0.50"}, {"from": None}]
    assert "10.0.0.50" in node_plan(ufw, dict(CLUSTER, unknown=["w9"]), SETTINGS)["sources"]
    firewalld = reading(backend="firewalld")
    firewalld["firewall"]["firewalld"]["permanent"]["rich_rules"] = [
        'rule family="ipv4" source address="10.0.0.60" port port="7946" protocol="tcp" accept']
    assert "10.0.0.60" in node_plan(firewalld, dict(CLUSTER, unknown=["w9"]), SETTINGS)["sources"]


def test_ufw_and_firewalld_nodes_keep_no_swarm_chain_and_are_not_done_here():
    plan = node_plan(reading(backend="ufw", boot_rules=boot_rules_file([], None, [], PUBLISHED)), CLUSTER, SETTINGS)
    assert plan["backend"] == "ufw" and plan["restore"] == [] and not plan["done"]
    assert plan["sources"] == ["10.0.0.11", "10.0.0.12"]


def test_published_sources_add_the_chain_and_a_firewalld_reload_writes_it_again():
    settings = dict(SETTINGS, published_sources=["192.0.2.0/24"])
    rules = published_chain_rules(PUBLISHED, ["192.0.2.0/24"])
    node = reading(backend="firewalld", published_chain_rules=["-N " + PUBLISHED] + rules,
                   docker_user_jumps_first=True, boot_rules=boot_rules_file([], None, rules, PUBLISHED))
    assert node_plan(node, CLUSTER, settings)["restore"] == []
    again = node_plan(node, CLUSTER, settings, firewalld_reloaded=True)["restore"]
    assert again[1] == ":%s - [0:0]" % PUBLISHED and again[-2].startswith("-I DOCKER-USER 1 ")
    # Lifted: the chain is emptied, the jump is left to return at once.
    lifted = node_plan(node, CLUSTER, SETTINGS)["restore"]
    assert lifted == ["*filter", ":%s - [0:0]" % PUBLISHED, "COMMIT"]


def test_a_disabled_boot_unit_is_work():
    node = converged()
    node["firewall"]["boot"]["enabled"] = False
    plan = node_plan(node, CLUSTER, SETTINGS)
    assert plan["restore"] == [] and plan["boot_work"] and not plan["done"]


def test_bad_input_names_each_field_and_the_fix():
    errors = input_errors(dict(SETTINGS, extra_sources=["10.0.0.300", "fd00::1"], published_sources=[7],
                               ssh_ports=[70000], ssh_port="99999", node_address="node-1"))
    text = " ".join(errors)
    assert 'firewall_extra_sources: "10.0.0.300" is not an IPv4 address or CIDR' in text
    assert 'firewall_extra_sources: "fd00::1"' in text and "IPv6 sources are not supported" in text
    assert "firewall_published_sources: 7 is not an IPv4 address" in text
    assert "firewall_ssh_ports: 70000 is not a TCP port" in text
    assert 'firewall_ssh_port (default: ansible_port): "99999" is not a TCP port' in text
    assert 'swarmnet_node_address: "node-1" is not an IPv4 address' in text and len(errors) == 6
    assert input_errors(SETTINGS) == []


def test_a_node_with_bad_input_or_no_address_gets_only_errors():
    # Never done, even where the node is converged: the role ends a done node's part before its input check.
    plan = node_plan(converged(), CLUSTER, dict(SETTINGS, node_address="fd00::13"))
    assert plan["done"] is False and "IPv6 node addresses are not supported" in plan["errors"][0]
    plan = node_plan(reading(cluster=()), CLUSTER, SETTINGS)
    assert plan["done"] is False
    assert "w1: no cluster address could be found" in plan["errors"][0] and "swarmnet_node_address" in plan["errors"][0]
    plan = node_plan(converged(), dict(CLUSTER, ipv6=["m1 fd00::11"]), SETTINGS)
    assert plan["done"] is False
    assert plan["errors"][0].startswith("m1 fd00::11: IPv6 cluster addresses are not supported")
    plan = node_plan(converged(), CLUSTER, dict(SETTINGS, extra_sources=["10.0.0.300"]))
    assert plan["done"] is False and plan["work"] is False and "10.0.0.300" in plan["errors"][0]


def hosts(**readings):
    return dict((name, dict(override="", reading=node, hostname=None)) for name, node in readings.items())


def test_the_cluster_is_every_node_read_in_this_run():
    cluster = cluster_addresses(["m1", "w1"], ["m1"], ["m1", "w1"],
                                hosts(m1=reading(cluster=("10.0.0.11",)), w1=reading(cluster=("10.0.0.12",))))
    assert cluster["sources"] == ["10.0.0.11", "10.0.0.12"] and cluster["unknown"] == []
    assert cluster["nodes"]["w1"] == {"addresses": ["10.0.0.12"], "from": "resolved on the node in this run"}


def test_a_node_outside_the_run_comes_from_the_managers_node_list_else_is_unknown():
    manager = reading(cluster=("10.0.0.11",))
    manager["swarm"]["nodes"] = [{"hostname": "w1", "addr": "10.0.0.12", "manager_addr": None},
                                 {"hostname": "w2", "addr": "0.0.0.0", "manager_addr": None}]
    manager["swarm"]["remote_managers"] = ["10.0.0.10:2377"]
    cluster = cluster_addresses(["m1", "w1.example", "w2"], ["m1"], ["m1"], hosts(m1=manager))
    assert cluster["nodes"]["w1.example"]["addresses"] == ["10.0.0.12"]
    assert cluster["unknown"] == ["w2"]
    assert cluster["sources"] == ["10.0.0.10", "10.0.0.11", "10.0.0.12"]


def test_an_override_wins_and_a_bad_one_is_no_source_for_the_others():
    node_hosts = hosts(m1=reading(cluster=("10.0.0.11",)), w1=reading(cluster=("10.0.0.12",)),
                       w2=reading(cluster=("10.0.0.13",)))
    node_hosts["w1"]["override"] = "192.0.2.12"
    node_hosts["w2"]["override"] = "not-an-address"
    cluster = cluster_addresses(["m1", "w1", "w2"], ["m1"], ["m1", "w1", "w2"], node_hosts)
    assert cluster["nodes"]["w1"] == {"addresses": ["192.0.2.12"], "from": "inventory (swarmnet_node_address)"}
    assert cluster["unknown"] == ["w2"] and "not-an-address" not in cluster["sources"]
    # So the others keep what they allow now rather than prune w2.
    assert node_plan(converged(sources=("10.0.0.11", "10.0.0.13")), cluster, SETTINGS)["sources"] == [
        "10.0.0.11", "10.0.0.13", "192.0.2.12"]


def test_ipv6_addresses_are_named_with_their_host():
    cluster = cluster_addresses(["m1"], ["m1"], ["m1"], hosts(m1=reading(cluster=("fd00::11",))))
    assert cluster["ipv6"] == ["m1 fd00::11"]


def test_the_filter_takes_hostvars_and_uses_the_roles_own_reading_first():
    hostvars = {"m1": {"engine_node_facts": {"node": reading(cluster=("10.0.0.1",))},
                       "firewall_node_read": {"node": reading(cluster=("10.0.0.11",))}},
                "w1": {"engine_node_facts": {"node": reading(cluster=("10.0.0.12",))},
                       "firewall_node_read": {"skipped": True}, "swarmnet_node_address": ""}}
    filters = FilterModule().filters()
    cluster = filters["firewall_cluster"](hostvars, ["m1", "w1", "w9"], ["m1"], ["m1", "w1"])
    assert cluster["sources"] == ["10.0.0.11", "10.0.0.12"] and cluster["unknown"] == ["w9"]
    plan = filters["firewall_plan"]({"node": converged()}, dict(CLUSTER), SETTINGS)
    assert plan["done"]


def test_null_settings_take_the_swarms_values_and_the_plan_says_what_it_made_of_them():
    # The role passes null where firewall_allow_esp / firewall_data_path_port / firewall_ssh_port are unset, and is_manager
    # always null: the plan works them out from the swarm's networks, the cluster's managers and the defaults.
    unset = dict(SETTINGS, allow_esp=None, is_manager=None, ssh_port=None, data_path_port=None,
                 networks=[dict(name="plain"), dict(name="secret", encrypted=True)])
    cluster = dict(CLUSTER, managers=["m1"])
    plan = node_plan(converged(), cluster, unset)
    assert (plan["allow_esp"], plan["is_manager"], plan["data_path_port"]) == (True, False, 4789)
    assert plan["ssh_open_ports"] == [22]
    assert any("-p esp" in line for line in plan["restore"]), plan["restore"]
    manager = node_plan(converged(), cluster, dict(unset, host="m1", networks=[dict(name="plain", encrypted=False)]))
    assert (manager["allow_esp"], manager["is_manager"]) == (False, True)
    assert dict(proto="tcp", port=2377, why="swarm-management") in manager["swarm_ports"]
    # A value set wins over the null's meaning.
    chosen = node_plan(converged(), cluster, dict(unset, allow_esp=False, data_path_port="4790", is_manager=True))
    assert (chosen["allow_esp"], chosen["data_path_port"], chosen["is_manager"]) == (False, 4790, True)


def test_a_bad_data_path_port_is_an_error_naming_the_variable():
    plan = node_plan(converged(), CLUSTER, dict(SETTINGS, data_path_port="vxlan"))
    assert plan["done"] is False and plan["work"] is False
    assert plan["errors"] == ['firewall_data_path_port (default: swarm_data_path_port, else 4789): "vxlan" is not a UDP '
                              'port (1-65535).']


def test_the_cluster_names_its_managers():
    result = cluster_addresses(["m1", "w1"], ["m1"], ["m1", "w1"], {})
    assert result["managers"] == ["m1"]

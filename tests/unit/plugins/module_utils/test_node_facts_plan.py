# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import pytest

from ansible_collections.swarmnet.overlay.plugins.module_utils import node_facts_plan as plan
from ansible_collections.swarmnet.overlay.plugins.module_utils.node_addresses import AddressError

# /proc/net/tcp of a lab node: sshd on 22 (inode 4711), dockerd on 2377 (inode 5000), one established connection.
PROC_NET_TCP = (
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    "   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4711 1 0 100 0 0 10 0\n"
    "   1: 00000000:0929 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5000 1 0 100 0 0 10 0\n"
    "   2: 0BF0A8C0:0016 0CF0A8C0:D431 01 00000000:00000000 00:00000000 00000000     0        0 6000 1 0 100 0 0 10 0\n"
)
PROC_NET_TCP6 = (
    "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when "
    "retrnsmt   uid  timeout inode\n"
    "   0: 00000000000000000000000000000000:08AE 00000000000000000000000000000000:0000"
    " 0A 00000000:00000000 00:00000000 00000000     0        0 4712 1 0 100 0 0 10 0\n"
)
PROC_NET_ROUTE = (
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
    "eth0\t00000000\t01E6A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
    "eth0\t00E6A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
    "eth1\t00F0A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
)
INTERFACES = {
    "lo": {"ipv4": ["127.0.0.1"], "ipv6": [("::1", "host")]},
    "eth0": {"ipv4": ["192.168.230.11"], "ipv6": []},
    "eth1": {"ipv4": ["192.168.240.11"], "ipv6": []},
    "eth2": {"ipv4": ["10.1.0.5", "10.1.0.6"], "ipv6": []},
    "v6only": {"ipv4": [], "ipv6": [("fd00:1::5", "global")]},
}


def test_listening_sockets_and_sshd_ports():
    listening = plan.parse_proc_net_tcp(PROC_NET_TCP) + plan.parse_proc_net_tcp(PROC_NET_TCP6)
    assert listening == [(22, 4711), (2345, 5000), (2222, 4712)]
    assert plan.ports_of_sockets(listening, {4711, 4712, 6000}) == [22, 2222]
    assert plan.ports_of_sockets(listening, set()) == []
    assert plan.parse_proc_net_tcp("header only\n   0: garbage\n") == []


def test_default_route_interface():
    assert plan.parse_default_route_interface(PROC_NET_ROUTE) == "eth0"
    assert plan.parse_default_route_interface(PROC_NET_ROUTE.splitlines()[0] + "\n") is None


def test_interface_name_resolves_to_its_address():
    result = plan.resolve_addresses("eth1", None, INTERFACES, "eth0", None)
    assert result["advertise"] == "192.168.240.11"
    assert result["cluster"] == ["192.168.240.11"]
    assert result["interface"] == "eth1"
    assert result["ip_versions"] == [4]
    assert result["advertise_source"] == "advertise_addr (interface)"


def test_data_path_address_is_a_second_cluster_address():
    result = plan.resolve_addresses("192.168.230.11:2377", "eth1", INTERFACES, "eth0", None)
    assert result["advertise"] == "192.168.230.11"
    assert result["data_path"] == "192.168.240.11"
    assert result["cluster"] == ["192.168.230.11", "192.168.240.11"]
    assert result["interface"] == "eth0"


def test_same_advertise_and_data_path_address_counted_once():
    assert plan.resolve_addresses("eth1", "192.168.240.11", INTERFACES, "eth0", None)["cluster"] == ["192.168.240.11"]


def test_without_advertise_addr_the_swarm_address_wins_then_the_default_route():
    assert plan.resolve_addresses(None, None, INTERFACES, "eth0", "192.168.240.11")["advertise"] == "192.168.240.11"
    result = plan.resolve_addresses("", None, INTERFACES, "eth0", None)
    assert result["advertise"] == "192.168.230.11"
    assert result["advertise_source"] == "default route (eth0)"
    assert plan.resolve_addresses(None, None, INTERFACES, None, None)["cluster"] == []


def test_ipv6_address_is_reported_with_its_version():
    result = plan.resolve_addresses("v6only", None, INTERFACES, "eth0", None)
    assert result["cluster"] == ["fd00:1::5"]
    assert result["ip_versions"] == [6]


def test_missing_interface_names_the_option_and_lists_the_interfaces():
    with pytest.raises(AddressError) as err:
        plan.resolve_addresses("eth9", None, INTERFACES, "eth0", None)
    assert "advertise_addr" in str(err.value)
    assert "'eth9'" in str(err.value)
    assert "eth0, eth1, eth2, lo, v6only" in str(err.value)
    with pytest.raises(AddressError, match="data_path_addr"):
        plan.resolve_addresses("eth1", "ens7", INTERFACES, "eth0", None)
    with pytest.raises(AddressError, match="data_path_addr.*must not carry a port"):
        plan.resolve_addresses("eth1", "eth1:4789", INTERFACES, "eth0", None)


def test_default_route_interface_docker_cannot_use_says_so():
    with pytest.raises(AddressError, match="advertise_addr is not set.*more than one IPv4"):
        plan.resolve_addresses(None, None, INTERFACES, "eth2", None)


def test_ufw_status():
    active = "Status: active\nLogging: on (low)\nDefault: deny (incoming), allow (outgoing), deny (routed)\nNew profiles: skip\n"
    assert plan.parse_ufw_status(active) == {"active": True, "default_incoming": "deny"}
    assert plan.parse_ufw_status("Status: inactive\n") == {"active": False, "default_incoming": None}


def test_ufw_added_rules_keep_only_ours():
    text = (
        "Added user rules (see 'ufw status' for running firewall):\n"
        "ufw allow 22/tcp comment 'swarmnet ssh'\n"
        "ufw allow from 192.168.240.12 to any app swarmnet-node comment 'swarmnet'\n"
        "ufw allow from 10.9.9.9 to any port 80\n"
        "ufw allow 8080 comment 'mine'\n"
    )
    rules = plan.parse_ufw_added(text)
    assert [r["spec"] for r in rules] == ["22/tcp", "from 192.168.240.12 to any app swarmnet-node"]
    assert rules[0]["port"] == "22/tcp"
    assert rules[1]["from"] == "192.168.240.12"
    assert rules[1]["app"] == "swarmnet-node"
    assert plan.parse_ufw_added("ERROR: no rules\n") == []


FIREWALLD_INFO = (
    "public (active)\n"
    "  target: DROP\n"
    "  icmp-block-inversion: no\n"
    "  interfaces: eth0 eth1\n"
    "  sources: \n"
    "  services: dhcpv6-client ssh\n"
    "  ports: 22/tcp\n"
    "  protocols: \n"
    "  forward: yes\n"
    "  masquerade: no\n"
    "  forward-ports: \n"
    "  source-ports: \n"
    "  icmp-blocks: \n"
    "  rich rules: \n"
    '\trule family="ipv4" source address="192.168.240.11" port port="7946" protocol="tcp" accept\n'
    '\trule family="ipv4" source address="192.168.240.11" port port="4789" protocol="udp" accept\n'
)


def test_firewalld_zone_info():
    info = plan.parse_firewalld_zone_info(FIREWALLD_INFO)
    assert info["target"] == "DROP"
    assert info["interfaces"] == ["eth0", "eth1"]
    assert info["ports"] == ["22/tcp"]
    assert info["services"] == ["dhcpv6-client", "ssh"]
    assert info["sources"] == []
    assert info["rich_rules"] == [
        'rule family="ipv4" source address="192.168.240.11" port port="7946" protocol="tcp" accept',
        'rule family="ipv4" source address="192.168.240.11" port port="4789" protocol="udp" accept',
    ]
    assert plan.parse_firewalld_zone_info("")["target"] is None


def test_iptables_input():
    text = "-P INPUT DROP\n-A INPUT -m comment --comment swarmnet -j SWARMNET-INPUT\n-A INPUT -j ufw-before-input\n"
    assert plan.parse_iptables_input(text, "SWARMNET-INPUT") == {"input_policy": "DROP", "input_jumps_first": True, "input_jump_at": 1}
    assert plan.parse_iptables_input("-P INPUT ACCEPT\n", "SWARMNET-INPUT") == {
        "input_policy": "ACCEPT", "input_jumps_first": False, "input_jump_at": 1}


@pytest.mark.parametrize("text,expected", [
    ('{"incoming": "allow"}\n', {"incoming": "allow"}),
    ('{"zone": "public", "target": "default"}', {"zone": "public", "target": "default"}),
    ("", None),  # no record: the role did not turn on default deny
    ("{not json", None),
    ('["allow"]', None),
])
def test_default_deny_record(text, expected):
    assert plan.parse_default_deny_record(text) == expected


@pytest.mark.parametrize("ufw,firewalld,expected", [
    (True, True, "ufw"), (False, True, "firewalld"), (False, False, "iptables"),
])
def test_backend_order(ufw, firewalld, expected):
    assert plan.decide_backend(ufw, firewalld) == expected


def test_swarm_facts_and_node_list():
    info = {"Swarm": {"LocalNodeState": "active", "NodeID": "abc", "NodeAddr": "192.168.240.11", "ControlAvailable": True,
                      "Cluster": {"ID": "clu"}, "RemoteManagers": [{"NodeID": "abc", "Addr": "192.168.240.11:2377"}]}}
    facts = plan.swarm_facts(info)
    assert facts == {"local_node_state": "active", "node_id": "abc", "node_addr": "192.168.240.11", "control_available": True,
                     "locked": False, "cluster_id": "clu", "remote_managers": ["192.168.240.11:2377"],
                     "managers_answering": [], "managers_silent": [], "cut_off": False}
    assert plan.swarm_facts({"Swarm": {"LocalNodeState": "locked"}})["locked"] is True
    assert plan.swarm_facts({})["local_node_state"] == "inactive"
    nodes = plan.swarm_node_list([
        {"ID": "w1", "Description": {"Hostname": "worker1"}, "Spec": {"Role": "worker", "Availability": "active"},
         "Status": {"State": "down", "Addr": "192.168.240.12"}},
        {"ID": "m1", "Description": {"Hostname": "manager1"}, "Spec": {"Role": "manager", "Availability": "active"},
         "Status": {"State": "ready", "Addr": "0.0.0.0"}, "ManagerStatus": {"Addr": "192.168.240.11:2377"}},
    ])
    assert [n["hostname"] for n in nodes] == ["manager1", "worker1"]
    assert nodes[0]["manager_addr"] == "192.168.240.11"
    assert nodes[1]["addr"] == "192.168.240.12"


def test_other_managers_leave_out_the_node_itself():
    swarm = {"node_addr": "192.168.240.11", "remote_managers": ["192.168.240.11:2377", "192.168.240.12:2377", "[fd00::3]:2377"]}
    assert plan.other_managers(swarm) == ["192.168.240.12:2377", "[fd00::3]:2377"]
    assert plan.other_managers({"node_addr": None, "remote_managers": []}) == []


@pytest.mark.parametrize("state, answering, silent, expected", [
    ("active", [], [{"addr": "192.168.240.11:2377", "error": "timed out"}], True),
    ("active", ["192.168.240.12:2377"], [{"addr": "192.168.240.11:2377", "error": "timed out"}], False),
    ("active", [], [], False),  # a single-manager swarm seen from that manager: nobody else to reach
    ("inactive", [], [{"addr": "192.168.240.11:2377", "error": "timed out"}], False),
])
def test_cut_off_only_when_no_other_manager_answers(state, answering, silent, expected):
    swarm = {"local_node_state": state, "managers_answering": answering, "managers_silent": silent}
    assert plan.cut_off(swarm) is expected


def test_first_rule_jumps_to_the_chain_only_when_it_is_first():
    text = "-N DOCKER-USER\n-A DOCKER-USER -j SWARMNET-PUBLISHED\n-A DOCKER-USER -j RETURN\n"
    assert plan.first_rule_jumps(text, "DOCKER-USER", "SWARMNET-PUBLISHED") is True
    assert plan.first_rule_jumps("-N DOCKER-USER\n-A DOCKER-USER -j RETURN\n-A DOCKER-USER -j SWARMNET-PUBLISHED\n",
                                 "DOCKER-USER", "SWARMNET-PUBLISHED") is False
    assert plan.first_rule_jumps("-A DOCKER-USER -j SWARMNET-PUBLISHED-OLD\n", "DOCKER-USER", "SWARMNET-PUBLISHED") is False


def test_iptables_chains_reads_every_chain_from_one_iptables_save():
    save = "\n".join([
        "# Generated by iptables-save v1.8.9 (nf_tables)",
        "*filter",
        ":INPUT DROP [0:0]",
        ":FORWARD ACCEPT [0:0]",
        ":DOCKER-USER - [0:0]",
        ":SWARMNET-INPUT - [0:0]",
        "-A INPUT -m comment --comment swarmnet -j SWARMNET-INPUT",
        "-A DOCKER-USER -j RETURN",
        "-A SWARMNET-INPUT -i lo -j ACCEPT",
        "-A SWARMNET-INPUT -s 192.0.2.11/32 -p udp -m udp --dport 4789 -m comment --comment overlay-vxlan -j ACCEPT",
        "COMMIT",
    ])
    chains = plan.iptables_chains(save)
    # The same lines `iptables -S CHAIN` prints, so the role compares against the same text as before.
    assert chains["INPUT"] == ["-P INPUT DROP", "-A INPUT -m comment --comment swarmnet -j SWARMNET-INPUT"]
    assert chains["SWARMNET-INPUT"] == [
        "-N SWARMNET-INPUT",
        "-A SWARMNET-INPUT -i lo -j ACCEPT",
        "-A SWARMNET-INPUT -s 192.0.2.11/32 -p udp -m udp --dport 4789 -m comment --comment overlay-vxlan -j ACCEPT",
    ]
    assert chains["FORWARD"] == ["-P FORWARD ACCEPT"]
    assert "SWARMNET-PUBLISHED" not in chains  # a chain that does not exist reads as None, as before
    assert plan.parse_iptables_input("\n".join(chains["INPUT"]), "SWARMNET-INPUT") == {
        "input_policy": "DROP", "input_jumps_first": True, "input_jump_at": 1}
    assert plan.first_rule_jumps("\n".join(chains["DOCKER-USER"]), "DOCKER-USER", "SWARMNET-PUBLISHED") is False
    assert plan.iptables_chains("") == {}


@pytest.mark.parametrize("conf,expected", [
    ("# /etc/ufw/ufw.conf\nENABLED=no\nLOGLEVEL=low\n", False),
    ("ENABLED=yes\n", True),
    ('ENABLED="no"\n', False),
    ("LOGLEVEL=low\n", None),  # says nothing: node_facts asks ufw itself
    ("", None),
])
def test_ufw_enabled_in_conf(conf, expected):
    assert plan.ufw_enabled_in_conf(conf) is expected


def test_ufw_files_hold_our_rules_reads_the_hex_comment():
    ours = "### tuple ### allow tcp 7946 0.0.0.0/0 any 198.51.100.7 in comment=737761726d6e6574\n"  # 'swarmnet'
    theirs = "### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in comment=6f7073\n"  # 'ops'
    assert plan.ufw_files_hold_our_rules("*filter\n" + theirs + ours) is True
    assert plan.ufw_files_hold_our_rules(theirs) is False
    assert plan.ufw_files_hold_our_rules("") is False
    # 'swarmnet ssh-kept-open' starts with the prefix, so its hex starts with the prefix's hex.
    assert plan.ufw_files_hold_our_rules("### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in comment=%s\n"
                                         % "swarmnet ssh-kept-open".encode().hex()) is True


# What `iptables -S INPUT` showed on a VM with an encrypted overlay (Docker 20.10): the engine
# inserts its drop of plaintext VXLAN for the encrypted network at the top of INPUT, above the
# role's jump, and appends its accept of the IPsec-protected VXLAN.
ENCRYPTED_OVERLAY_INPUT = """-P INPUT DROP
-A INPUT -p udp -m policy --dir in --pol none -m udp --dport 4789 -m u32 --u32 "0x0>>0x16&0x3c@0xc&0xffffff00=0x100200" -j DROP
-A INPUT -m comment --comment swarmnet -j SWARMNET-INPUT
-A INPUT -p udp -m policy --dir in --pol ipsec -m udp --dport 4789 -m u32 --u32 "0x0>>0x16&0x3c@0xc&0xffffff00=0x100200" -j ACCEPT
"""


def test_the_swarm_chain_counts_as_first_below_dockers_plaintext_vxlan_drop_of_an_encrypted_overlay():
    # Docker's rule must stay above the jump (the swarm chain accepts udp/4789 from the nodes,
    # which would let plaintext VXLAN into an encrypted network): it only drops, so the jump is
    # still the first rule that lets anything in.
    assert plan.parse_iptables_input(ENCRYPTED_OVERLAY_INPUT, "SWARMNET-INPUT") == {
        "input_policy": "DROP", "input_jumps_first": True, "input_jump_at": 2}


def test_a_jump_put_back_goes_below_dockers_plaintext_vxlan_drops():
    # The jump is gone (flushed by hand, say) while the engine's drop is on top: put back at
    # position 1 it would let plaintext VXLAN from the nodes into the encrypted network.
    lines = ENCRYPTED_OVERLAY_INPUT.splitlines()
    two_drops = "\n".join(lines[:2] + [lines[1]] + lines[3:]) + "\n"
    assert plan.parse_iptables_input(two_drops, "SWARMNET-INPUT") == {
        "input_policy": "DROP", "input_jumps_first": False, "input_jump_at": 3}
    # Drops below another rule are not on top: they do not move the jump's place.
    text = "-P INPUT ACCEPT\n-A INPUT -p tcp --dport 80 -j ACCEPT\n" + lines[1] + "\n"
    assert plan.parse_iptables_input(text, "SWARMNET-INPUT")["input_jump_at"] == 1


def test_another_rule_above_the_swarm_chain_still_counts_as_not_first():
    text = ENCRYPTED_OVERLAY_INPUT.replace("-j DROP\n", "-j DROP\n-A INPUT -p tcp --dport 80 -j ACCEPT\n", 1)
    assert plan.parse_iptables_input(text, "SWARMNET-INPUT")["input_jumps_first"] is False
    # A plaintext-VXLAN rule that accepts is not Docker's guard.
    text = ENCRYPTED_OVERLAY_INPUT.replace('0x100200" -j DROP', '0x100200" -j ACCEPT', 1)
    assert plan.parse_iptables_input(text, "SWARMNET-INPUT")["input_jumps_first"] is False

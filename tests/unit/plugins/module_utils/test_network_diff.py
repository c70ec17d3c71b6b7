# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import pytest

from ansible_collections.swarmnet.overlay.plugins.module_utils import network_diff as nd


def params(**kwargs):
    base = dict(name="helloTest", ipam_config=None, enable_ipv6=None, attachable=None, internal=None, ingress=None,
                encrypted=None, mtu=None, labels=None, driver_options=None)
    base.update(kwargs)
    return base


def declared(**kwargs):
    result, _warnings = nd.normalise_declared(params(**kwargs))
    return result


# What Engine 20.10 reports for the tutorial's network, created with --subnet 172.19.0.1/24.
INSPECT = {
    "Name": "helloTest",
    "Id": "k3xq0wz5l0o8t8w2y6o5s3d1a",
    "Scope": "swarm",
    "Driver": "overlay",
    "EnableIPv6": False,
    "IPAM": {"Driver": "default", "Options": None,
             "Config": [{"Subnet": "172.19.0.1/24", "Gateway": "172.19.0.1"}]},
    "Internal": False,
    "Attachable": True,
    "Ingress": False,
    "Options": {"com.docker.network.driver.overlay.vxlanid_list": "4097", "com.docker.network.driver.mtu": "1400", "encrypted": ""},
    "Labels": {"team": "web"},
}


# --- validation of declared options ---------------------------------------------

def test_host_bits_are_cleared_with_a_warning():
    result, warnings = nd.normalise_declared(params(ipam_config=[{"subnet": "172.19.0.1/24", "gateway": "172.19.0.1"}]))
    assert result["ipam_config"] == [{"subnet": "172.19.0.0/24", "gateway": "172.19.0.1", "ip_range": None, "aux_addresses": None}]
    assert len(warnings) == 1
    assert "172.19.0.1/24" in warnings[0] and "172.19.0.0/24" in warnings[0] and "25.0" in warnings[0]


def test_clean_subnet_gives_no_warning():
    _result, warnings = nd.normalise_declared(params(ipam_config=[{"subnet": "172.19.0.0/24"}]))
    assert warnings == []


def test_ipv6_spelling_difference_is_not_a_warning():
    result, warnings = nd.normalise_declared(params(ipam_config=[{"subnet": "FD00:0019:0000::/64"}]))
    assert warnings == []
    assert result["ipam_config"][0]["subnet"] == "fd00:19::/64"
    assert result["enable_ipv6"] is True


@pytest.mark.parametrize("subnet", ["172.19.0.0", "172.19.300.0/24", "not-a-cidr", "10.0.0.0/33", "fd00::/129"])
def test_invalid_cidr_names_field_and_fix(subnet):
    with pytest.raises(nd.NetworkSpecError) as err:
        nd.normalise_declared(params(ipam_config=[{"subnet": subnet}]))
    assert err.value.field == "ipam_config[0].subnet"
    assert "e.g. 172.19.0.0/24" in str(err.value)


def test_gateway_outside_subnet():
    with pytest.raises(nd.NetworkSpecError) as err:
        nd.normalise_declared(params(ipam_config=[{"subnet": "172.19.0.0/24", "gateway": "172.20.0.1"}]))
    assert err.value.field == "ipam_config[0].gateway"
    assert "outside its subnet 172.19.0.0/24" in str(err.value)
    assert "Choose an address inside 172.19.0.0/24" in str(err.value)


def test_gateway_of_other_ip_version_is_outside():
    with pytest.raises(nd.NetworkSpecError) as err:
        nd.normalise_declared(params(ipam_config=[{"subnet": "fd00:19::/64", "gateway": "172.19.0.1"}]))
    assert err.value.field == "ipam_config[0].gateway"


def test_gateway_network_address_rejected():
    with pytest.raises(nd.NetworkSpecError) as err:
        nd.normalise_declared(params(ipam_config=[{"subnet": "172.19.0.0/24", "gateway": "172.19.0.0"}]))
    assert "172.19.0.1" in str(err.value)


def test_gateway_with_prefix_rejected():
    with pytest.raises(nd.NetworkSpecError) as err:
        nd.normalise_declared(params(ipam_config=[{"subnet": "172.19.0.0/24", "gateway": "172.19.0.1/24"}]))
    assert err.value.field == "ipam_config[0].gateway"


def test_ip_range_inside_subnet():
    result = declared(ipam_config=[{"subnet": "10.20.0.0/24", "ip_range": "10.20.0.129/25"}])
    assert result["ipam_config"][0]["ip_range"] == "10.20.0.128/25"
    with pytest.raises(nd.NetworkSpecError) as err:
        declared(ipam_config=[{"subnet": "10.20.0.0/24", "ip_range": "10.21.0.0/25"}])
    assert err.value.field == "ipam_config[0].ip_range"
    with pytest.raises(nd.NetworkSpecError):
        declared(ipam_config=[{"subnet": "10.20.0.0/24", "ip_range": "10.20.0.0/23"}])


def test_aux_addresses_inside_subnet():
    result = declared(ipam_config=[{"subnet": "10.20.0.0/24", "aux_addresses": {"router": "10.20.0.5"}}])
    assert result["ipam_config"][0]["aux_addresses"] == {"router": "10.20.0.5"}
    with pytest.raises(nd.NetworkSpecError) as err:
        declared(ipam_config=[{"subnet": "10.20.0.0/24", "aux_addresses": {"router": "10.30.0.5"}}])
    assert err.value.field == "ipam_config[0].aux_addresses.router"


def test_declared_subnets_must_not_overlap_each_other():
    with pytest.raises(nd.NetworkSpecError) as err:
        declared(ipam_config=[{"subnet": "10.20.0.0/16"}, {"subnet": "10.20.5.0/24"}])
    assert err.value.field == "ipam_config[1].subnet"
    assert "ipam_config[0].subnet" in str(err.value)


def test_ipv6_with_enable_ipv6_false_is_an_error():
    with pytest.raises(nd.NetworkSpecError) as err:
        declared(enable_ipv6=False, ipam_config=[{"subnet": "10.20.0.0/24"}, {"subnet": "fd00:20::/64", "gateway": "fd00:20::1"}])
    assert err.value.field == "enable_ipv6"


def test_ingress_and_attachable_is_an_error():
    with pytest.raises(nd.NetworkSpecError) as err:
        declared(ingress=True, attachable=True)
    assert err.value.field == "attachable"
    assert "ingress" in str(err.value)
    declared(ingress=True, attachable=False)


@pytest.mark.parametrize("name", ["", "-x", "a b", "x/y", None])
def test_bad_names(name):
    with pytest.raises(nd.NetworkSpecError) as err:
        declared(name=name)
    assert err.value.field == "name"


def test_mtu_range():
    with pytest.raises(nd.NetworkSpecError) as err:
        declared(mtu=10)
    assert err.value.field == "mtu"


def test_driver_options_fold_into_dedicated_options():
    result = declared(driver_options={"encrypted": "", "com.docker.network.driver.mtu": "1400", "x": 1})
    assert result["encrypted"] is True
    assert result["mtu"] == 1400
    assert result["driver_options"] == {"x": "1"}
    with pytest.raises(nd.NetworkSpecError):
        declared(encrypted=False, driver_options={"encrypted": "true"})
    with pytest.raises(nd.NetworkSpecError):
        declared(mtu=1500, driver_options={"com.docker.network.driver.mtu": "1400"})
    with pytest.raises(nd.NetworkSpecError):
        declared(driver_options={"com.docker.network.driver.overlay.vxlanid_list": "4097"})


def test_driver_option_encrypted_false_still_encrypts_with_warning():
    result, warnings = nd.normalise_declared(params(driver_options={"encrypted": "false"}))
    assert result["encrypted"] is True
    assert warnings and "still encrypts" in warnings[0]


def test_label_values_are_strings():
    assert declared(labels={"a": 1, "b": True})["labels"] == {"a": "1", "b": "true"}


# --- engine side ---------------------------------------------------------------------

def test_normalise_actual():
    actual = nd.normalise_actual(INSPECT)
    assert actual["ipam_config"] == [{"subnet": "172.19.0.0/24", "gateway": "172.19.0.1", "ip_range": None, "aux_addresses": {}}]
    assert actual["encrypted"] is True
    assert actual["mtu"] == 1400
    assert actual["attachable"] is True
    assert actual["labels"] == {"team": "web"}
    assert actual["driver_options"] == {"com.docker.network.driver.overlay.vxlanid_list": "4097"}
    assert nd.normalise_actual(None) is None


@pytest.mark.parametrize("value", ["", "true", "1", "yes"])
def test_encrypted_spellings_are_alike(value):
    inspect = dict(INSPECT, Options={"encrypted": value})
    assert nd.normalise_actual(inspect)["encrypted"] is True
    assert nd.compare(declared(encrypted=True), nd.normalise_actual(inspect)) == []


def test_missing_fields_normalise_to_defaults():
    actual = nd.normalise_actual({"Name": "n", "Id": "i", "Driver": "overlay", "Scope": "swarm", "IPAM": None, "Options": None, "Labels": None})
    assert actual["ipam_config"] == [] and actual["labels"] == {} and actual["driver_options"] == {}
    assert actual["encrypted"] is False and actual["mtu"] is None


def test_gateway_with_prefix_from_engine_is_stripped():
    inspect = dict(INSPECT, IPAM={"Config": [{"Subnet": "172.19.0.0/24", "Gateway": "172.19.0.1/24"}]})
    assert nd.normalise_actual(inspect)["ipam_config"][0]["gateway"] == "172.19.0.1"


# --- comparison ---------------------------------------------------------------------

def test_tutorial_spelling_is_idempotent_against_engine_spelling():
    want = declared(ipam_config=[{"subnet": "172.19.0.1/24", "gateway": "172.19.0.1"}], attachable=True, mtu=1400, encrypted=True,
                    labels={"team": "web"})
    assert nd.compare(want, nd.normalise_actual(INSPECT)) == []


def test_undeclared_is_not_compared():
    assert nd.compare(declared(), nd.normalise_actual(INSPECT)) == []


def test_engine_added_options_are_ignored():
    assert nd.compare(declared(driver_options={}), nd.normalise_actual(INSPECT)) == []


def test_declared_empty_labels_means_none():
    diffs = nd.compare(declared(labels={}), nd.normalise_actual(INSPECT))
    assert diffs == [{"field": "labels", "before": {"team": "web"}, "after": {}}]


def test_changed_subnet_and_gateway_are_named():
    diffs = nd.compare(declared(ipam_config=[{"subnet": "172.20.0.0/24", "gateway": "172.20.0.1"}]), nd.normalise_actual(INSPECT))
    assert diffs == [
        {"field": "ipam_config[0].subnet", "before": "172.19.0.0/24", "after": "172.20.0.0/24"},
        {"field": "ipam_config[0].gateway", "before": "172.19.0.1", "after": "172.20.0.1"},
    ]
    text = nd.format_differences(diffs)
    assert "ipam_config[0].subnet: 172.19.0.0/24 -> 172.20.0.0/24" in text


def test_undeclared_gateway_not_compared():
    assert nd.compare(declared(ipam_config=[{"subnet": "172.19.0.0/24"}]), nd.normalise_actual(INSPECT)) == []


def test_extra_and_missing_pools():
    want = declared(ipam_config=[{"subnet": "172.19.0.0/24"}, {"subnet": "fd00:19::/64"}])
    diffs = nd.compare(want, nd.normalise_actual(INSPECT))
    assert {"field": "ipam_config[1]", "before": None,
            "after": {"subnet": "fd00:19::/64", "gateway": None, "ip_range": None, "aux_addresses": None}} in diffs
    assert {"field": "enable_ipv6", "before": False, "after": True} in diffs
    two = dict(INSPECT, IPAM={"Config": [{"Subnet": "172.19.0.0/24"}, {"Subnet": "10.9.0.0/24"}]})
    diffs = nd.compare(declared(ipam_config=[{"subnet": "172.19.0.0/24"}]), nd.normalise_actual(two))
    assert diffs == [{"field": "ipam_config", "before": {"subnet": "10.9.0.0/24", "gateway": None, "ip_range": None, "aux_addresses": {}},
                      "after": None}]


def test_pool_order_does_not_matter():
    two = dict(INSPECT, IPAM={"Config": [{"Subnet": "fd00:19::/64"}, {"Subnet": "172.19.0.0/24"}]}, EnableIPv6=True)
    want = declared(ipam_config=[{"subnet": "172.19.0.0/24"}, {"subnet": "fd00:19::/64"}])
    assert nd.compare(want, nd.normalise_actual(two)) == []


def test_booleans_mtu_and_options_compared():
    diffs = nd.compare(declared(attachable=False, internal=True, encrypted=False, mtu=1450, driver_options={"k": "v"}),
                       nd.normalise_actual(INSPECT))
    fields = [d["field"] for d in diffs]
    assert fields == ["attachable", "internal", "encrypted", "mtu", "driver_options.k"]


def test_ingress_compared():
    diffs = nd.compare(declared(ingress=True), nd.normalise_actual(INSPECT))
    assert diffs == [{"field": "ingress", "before": False, "after": True}]


def test_aux_addresses_empty_means_none():
    with_aux = dict(INSPECT, IPAM={"Config": [{"Subnet": "172.19.0.0/24", "AuxiliaryAddresses": {"r": "172.19.0.5"}}]})
    diffs = nd.compare(declared(ipam_config=[{"subnet": "172.19.0.0/24", "aux_addresses": {}}]), nd.normalise_actual(with_aux))
    assert diffs == [{"field": "ipam_config[0].aux_addresses", "before": {"r": "172.19.0.5"}, "after": {}}]


# --- decisions and desired state -------------------------------------------------

def test_decide_action():
    actual = nd.normalise_actual(INSPECT)
    assert nd.decide_action("present", None, []) == "create"
    assert nd.decide_action("present", actual, []) == "none"
    assert nd.decide_action("present", actual, [{"field": "x"}]) == "recreate"
    assert nd.decide_action("absent", actual, []) == "remove"
    assert nd.decide_action("absent", None, []) == "none"


def test_desired_state_keeps_undeclared_values_and_drops_engine_options():
    actual = nd.normalise_actual(INSPECT)
    state = nd.desired_state(declared(ipam_config=[{"subnet": "172.20.0.0/24"}]), actual)
    assert state["attachable"] is True and state["encrypted"] is True and state["mtu"] == 1400 and state["labels"] == {"team": "web"}
    # a new subnet does not inherit the old gateway
    assert state["ipam_config"] == [{"subnet": "172.20.0.0/24", "gateway": None, "ip_range": None, "aux_addresses": {}}]
    assert "com.docker.network.driver.overlay.vxlanid_list" not in state["driver_options"]
    same = nd.desired_state(declared(ipam_config=[{"subnet": "172.19.0.0/24"}]), actual)
    assert same["ipam_config"][0]["gateway"] == "172.19.0.1"


def test_desired_state_for_new_network_uses_engine_defaults():
    state = nd.desired_state(declared(mtu=1400))
    assert state["attachable"] is False and state["mtu"] == 1400 and state["ipam_config"] == []


def test_create_arguments():
    state = nd.desired_state(declared(ipam_config=[{"subnet": "10.20.0.0/24", "gateway": "10.20.0.1", "ip_range": "10.20.0.128/25",
                                                    "aux_addresses": {"r": "10.20.0.5"}}],
                                      attachable=True, encrypted=True, mtu=1400, labels={"a": "b"}, driver_options={"k": "v"}))
    kwargs = nd.create_arguments(state)
    assert kwargs["name"] == "helloTest" and kwargs["driver"] == "overlay" and kwargs["scope"] == "swarm"
    assert kwargs["options"] == {"k": "v", "com.docker.network.driver.mtu": "1400", "encrypted": ""}
    assert kwargs["ipam"]["Config"] == [{"Subnet": "10.20.0.0/24", "Gateway": "10.20.0.1", "IPRange": "10.20.0.128/25",
                                         "AuxiliaryAddresses": {"r": "10.20.0.5"}}]
    assert kwargs["attachable"] is True and kwargs["ingress"] is False and kwargs["labels"] == {"a": "b"}
    assert nd.create_arguments(nd.desired_state(declared()))["ipam"] is None


def test_create_arguments_from_actual_drop_vxlan_ids():
    kwargs = nd.create_arguments(nd.desired_state({}, nd.normalise_actual(INSPECT)))
    assert kwargs["options"] == {"com.docker.network.driver.mtu": "1400", "encrypted": ""}
    assert kwargs["ipam"]["Config"] == [{"Subnet": "172.19.0.0/24", "Gateway": "172.19.0.1"}]


# --- overlaps -------------------------------------------------------------------------

NETWORKS = [
    {"Name": "docker_gwbridge", "Id": "gw", "Driver": "bridge", "Scope": "local", "IPAM": {"Config": [{"Subnet": "172.18.0.0/16", "Gateway": "172.18.0.1"}]}},
    {"Name": "ingress", "Id": "ing", "Driver": "overlay", "Scope": "swarm", "IPAM": {"Config": [{"Subnet": "10.0.0.0/24"}]}},
    {"Name": "host", "Id": "h", "Driver": "host", "Scope": "local", "IPAM": {"Config": []}},
    {"Name": "v6", "Id": "six", "Driver": "overlay", "Scope": "swarm", "IPAM": {"Config": [{"Subnet": "fd00:20::/64"}]}},
]


def test_overlap_names_the_other_network():
    state = nd.desired_state(declared(ipam_config=[{"subnet": "172.18.5.0/24"}]))
    found = nd.subnet_overlaps(state, NETWORKS)
    assert found == [{"subnet": "172.18.5.0/24", "network": "docker_gwbridge", "network_id": "gw", "driver": "bridge",
                      "scope": "local", "other_subnet": "172.18.0.0/16"}]


def test_overlap_skips_given_ids_and_other_versions():
    state = nd.desired_state(declared(ipam_config=[{"subnet": "10.0.0.0/16"}, {"subnet": "fd00:21::/64"}]))
    assert [o["network"] for o in nd.subnet_overlaps(state, NETWORKS)] == ["ingress"]
    assert nd.subnet_overlaps(state, NETWORKS, skip_ids={"ing"}) == []
    assert nd.subnet_overlaps(nd.desired_state(declared()), NETWORKS) == []


# --- services ------------------------------------------------------------------------

def test_service_attachments_prefer_task_template_then_deprecated_networks():
    assert nd.service_attachments({"TaskTemplate": {"Networks": [{"Target": "a"}]}, "Networks": [{"Target": "b"}]}) == [{"Target": "a"}]
    assert nd.service_attachments({"TaskTemplate": {}, "Networks": [{"Target": "b"}]}) == [{"Target": "b"}]
    assert nd.service_attachments({}) == []


def test_targets_network_by_id_name_or_long_prefix():
    assert nd.targets_network("k3xq0wz5l0o8t8w2y6o5s3d1a", "k3xq0wz5l0o8t8w2y6o5s3d1a", "helloTest")
    assert nd.targets_network("helloTest", "k3xq0wz5l0o8t8w2y6o5s3d1a", "helloTest")
    assert nd.targets_network("k3xq0wz5l0o8", "k3xq0wz5l0o8t8w2y6o5s3d1a", "helloTest")
    assert not nd.targets_network("k3x", "k3xq0wz5l0o8t8w2y6o5s3d1a", "helloTest")
    assert not nd.targets_network("other", "k3xq0wz5l0o8t8w2y6o5s3d1a", "helloTest")
    assert not nd.targets_network(None, "k3xq0wz5l0o8t8w2y6o5s3d1a", "helloTest")


def test_split_and_restore_keep_positions_and_aliases():
    attachments = [{"Target": "other1"}, {"Target": "old", "Aliases": ["web"]}, {"Target": "other2"}]
    kept, removed = nd.split_attachments(attachments, "old", "helloTest")
    assert kept == [{"Target": "other1"}, {"Target": "other2"}]
    assert removed == [(1, {"Target": "old", "Aliases": ["web"]})]
    restored = nd.restore_attachments(kept, removed, "new")
    assert restored == [{"Target": "other1"}, {"Target": "new", "Aliases": ["web"]}, {"Target": "other2"}]
    # restoring twice does not duplicate
    assert nd.restore_attachments(restored, removed, "new") == restored


def test_ingress_published_ports():
    spec = {"EndpointSpec": {"Ports": [
        {"Protocol": "tcp", "TargetPort": 8080, "PublishedPort": 8080, "PublishMode": "ingress"},
        {"Protocol": "udp", "TargetPort": 53, "PublishedPort": 53, "PublishMode": "host"},
        {"TargetPort": 9000},
    ]}}
    assert nd.ingress_published_ports(spec) == ["8080:8080/tcp", "auto:9000/tcp"]
    assert nd.ingress_published_ports({}) == []


def test_address_in_subnets():
    assert nd.address_in_subnets("172.19.0.7", ["172.19.0.0/24"])
    assert nd.address_in_subnets("172.19.0.7/24", ["fd00::/64", "172.19.0.0/24"])
    assert not nd.address_in_subnets("172.19.0.7", ["172.20.0.0/24"])
    assert not nd.address_in_subnets("fd00::7", ["172.19.0.0/24"])
    assert not nd.address_in_subnets("nonsense", ["172.19.0.0/24"])


# --- pending reattach bookkeeping and underlay overlaps (issue 11) -----------------------

PROC_NET_ROUTE = (
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
    "eth0\t00000000\t01EBA8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
    "eth0\t00EBA8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
    "docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n"
)


def test_parse_proc_net_route_leaves_out_the_default_route():
    assert nd.parse_proc_net_route(PROC_NET_ROUTE) == [("eth0", "192.168.235.0/24"), ("docker0", "172.17.0.0/16")]
    assert nd.parse_proc_net_route("") == []


def test_underlay_overlaps_names_node_and_route_and_skips_docker_bridges():
    state = {"ipam_config": [{"subnet": "192.168.235.0/25"}, {"subnet": "172.17.5.0/24"}]}
    found = nd.underlay_overlaps(state, [("m1", "192.168.235.11"), ("w1", "192.168.235.200"), ("odd", "0.0.0.0")],
                                 nd.parse_proc_net_route(PROC_NET_ROUTE))
    assert found == ["subnet 192.168.235.0/25 contains 192.168.235.11, the address of swarm node m1",
                     "subnet 192.168.235.0/25 overlaps the route to 192.168.235.0/24 via eth0 on this manager"]
    assert nd.underlay_overlaps({"ipam_config": [{"subnet": "10.9.0.0/24"}]}, [("m1", "192.168.235.11")], [("eth0", "192.168.235.0/24")]) == []


def test_pending_label_round_trip_and_kept_out_of_labels():
    entries = [{"id": "s1", "name": "web", "spec": "0123456789abcdef", "removed": [(1, {"Target": "old", "Aliases": ["w"]})]}]
    label = nd.encode_pending(entries)
    assert nd.decode_pending(label) == entries
    assert nd.decode_pending("not json") == [] and nd.decode_pending(None) == []
    actual = nd.normalise_actual({"Name": "n", "Id": "x", "Labels": {"team": "a", nd.PENDING_REATTACH_LABEL: label}})
    assert actual["labels"] == {"team": "a"} and actual["pending_reattach"] == entries
    assert "pending_reattach" not in nd.desired_state({"name": "n"}, actual)


def test_pending_reattachments_only_for_unchanged_services_still_off_the_network():
    off = {"TaskTemplate": {"Networks": []}, "Name": "x"}
    changed = {"TaskTemplate": {"Networks": []}, "Name": "x", "Labels": {"new": "1"}}
    on = {"TaskTemplate": {"Networks": [{"Target": "newid"}]}, "Name": "x"}
    digest = nd.spec_digest(off)
    entries = [{"id": "s1", "name": "web", "spec": digest, "removed": [(0, {"Target": "old"})]},
               {"id": "s2", "name": "db", "spec": digest, "removed": [(0, {"Target": "old"})]},
               {"id": "s3", "name": "gone", "spec": digest, "removed": [(0, {"Target": "old"})]},
               {"id": "s4", "name": "back", "spec": nd.spec_digest(on), "removed": [(0, {"Target": "old"})]}]
    # s1's Version moved on (the engine records update progress there) but its spec did not: still pending.
    services = [{"ID": "s1", "Version": {"Index": 99}, "Spec": dict(off)},
                {"ID": "s2", "Version": {"Index": 8}, "Spec": changed},
                {"ID": "s4", "Version": {"Index": 9}, "Spec": on}]
    assert [e["name"] for e in nd.pending_reattachments(entries, services, "newid", "net")] == ["web"]

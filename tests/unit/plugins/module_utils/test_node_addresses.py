# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

import errno
import socket

import pytest

from ansible_collections.swarmnet.overlay.plugins.module_utils import node_addresses as na
from ansible_collections.swarmnet.overlay.plugins.module_utils.node_addresses import AddressError

# Real output of `ip -o addr show` (a lab node and the build machine), plus a veth name and a secondary address.
IP_O_ADDR = (
    "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n"
    "1: lo    inet6 ::1/128 scope host \\       valid_lft forever preferred_lft forever\n"
    "4: eth0    inet 192.0.2.2/24 brd 192.0.2.255 scope global eth0\\       valid_lft forever preferred_lft forever\n"
    "4: eth0    inet6 fd00::2/64 scope global nodad \\       valid_lft forever preferred_lft forever\n"
    "4: eth0    inet6 fe80::fc:ff:fe00:1/64 scope link \\       valid_lft forever preferred_lft forever\n"
    "5: docker0    inet 172.17.0.1/16 brd 172.17.255.255 scope global docker0\\       valid_lft forever preferred_lft forever\n"
    "9: eth1@if10    inet 192.168.213.12/24 brd 192.168.213.255 scope global eth1\\       valid_lft forever preferred_lft forever\n"
    "11: eth2    inet 10.1.0.5/24 scope global eth2\\       valid_lft forever preferred_lft forever\n"
    "11: eth2    inet 10.1.0.6/24 scope global secondary eth2\\       valid_lft forever preferred_lft forever\n"
    "12: v6only    inet6 fd00:1::5/64 scope global \\       valid_lft forever preferred_lft forever\n"
    "garbage line\n"
)


@pytest.mark.parametrize("value,expected", [
    ("10.0.0.2", ("10.0.0.2", None)),
    ("10.0.0.2:2377", ("10.0.0.2", 2377)),
    (" eth1:4567 ", ("eth1", 4567)),
    ("eth1", ("eth1", None)),
    ("fd00::0002", ("fd00::2", None)),
    ("[fd00::2]:2377", ("fd00::2", 2377)),
    ("[fd00::2]", ("fd00::2", None)),
    ("manager.example.org:2377", ("manager.example.org", 2377)),
])
def test_split_host_port(value, expected):
    assert na.split_host_port(value) == expected


@pytest.mark.parametrize("value,fragment", [
    ("", "empty"),
    ("10.0.0.2:0", "invalid port"),
    ("10.0.0.2:99999", "invalid port"),
    ("10.0.0.2:abc", "invalid port"),
    ("[10.0.0.2]:2377", "only an IPv6"),
    ("[fd00::2:2377", "[IPv6]:port"),
    ("fd00::2::5", "neither an IPv6"),
    (":2377", "no host"),
])
def test_split_host_port_errors_name_the_option(value, fragment):
    with pytest.raises(AddressError) as err:
        na.split_host_port(value, "advertise_addr")
    assert "advertise_addr" in str(err.value)
    assert fragment in str(err.value)


def test_format_host_port_brackets_ipv6():
    assert na.format_host_port("fd00::2", 2377) == "[fd00::2]:2377"
    assert na.format_host_port("10.0.0.1", 2377) == "10.0.0.1:2377"
    assert na.format_host_port("fd00::2", None) == "fd00::2"


def test_parse_ip_addr_output():
    parsed = na.parse_ip_addr_output(IP_O_ADDR)
    assert parsed["lo"] == {"ipv4": ["127.0.0.1"], "ipv6": [("::1", "host")]}
    assert parsed["eth0"]["ipv4"] == ["192.0.2.2"]
    assert parsed["eth0"]["ipv6"] == [("fd00::2", "global"), ("fe80::fc:ff:fe00:1", "link")]
    assert parsed["eth1"]["ipv4"] == ["192.168.213.12"]  # '@if10' is not part of the name
    assert parsed["eth2"]["ipv4"] == ["10.1.0.5", "10.1.0.6"]
    assert parsed["v6only"] == {"ipv4": [], "ipv6": [("fd00:1::5", "global")]}
    assert na.parse_ip_addr_output("") == {}
    assert na.parse_ip_addr_output(None) == {}


def test_interface_ip_like_dockerd():
    parsed = na.parse_ip_addr_output(IP_O_ADDR)
    assert na.interface_ip("eth1", parsed["eth1"]) == "192.168.213.12"
    assert na.interface_ip("v6only", parsed["v6only"]) == "fd00:1::5"
    assert na.interface_ip("lo", parsed["lo"]) == "127.0.0.1"  # one v4 and one v6: v4 wins
    with pytest.raises(AddressError, match="more than one IPv4 address .10.1.0.5, 10.1.0.6."):
        na.interface_ip("eth2", parsed["eth2"])
    # dockerd counts link-local IPv6 addresses too: a global + a link-local one is refused.
    with pytest.raises(AddressError, match="more than one IPv6 address"):
        na.interface_ip("eth0", parsed["eth0"])
    with pytest.raises(AddressError, match="has no IP address"):
        na.interface_ip("dummy0", {"ipv4": [], "ipv6": []})


def test_classify_node_address():
    assert na.classify_node_address("listen_addr", "0.0.0.0:2377", default_port=2377) == dict(
        kind="ip", host="0.0.0.0", port=2377, value="0.0.0.0:2377")
    assert na.classify_node_address("listen_addr", "eth1", default_port=2377)["value"] == "eth1:2377"
    assert na.classify_node_address("advertise_addr", "eth1")["value"] == "eth1"
    assert na.classify_node_address("advertise_addr", "[fd00::2]:4000")["value"] == "[fd00::2]:4000"
    assert na.classify_node_address("data_path_addr", "10.0.0.3", allow_port=False)["kind"] == "ip"


@pytest.mark.parametrize("option,value,kwargs,fragment", [
    ("data_path_addr", "eth1:4789", dict(allow_port=False), "must not carry a port"),
    ("advertise_addr", "node1.example.org", {}, "not host names"),
    ("advertise_addr", "0.0.0.0", {}, "unspecified address"),
    ("advertise_addr", "averyveryverylongname0", {}, "neither an IP address nor a network interface"),
])
def test_classify_node_address_errors(option, value, kwargs, fragment):
    with pytest.raises(AddressError) as err:
        na.classify_node_address(option, value, **kwargs)
    assert str(err.value).startswith(option + ":")
    assert fragment in str(err.value)


def test_resolve_node_address_lists_interfaces_when_missing():
    interfaces = na.parse_ip_addr_output(IP_O_ADDR)
    parsed = na.classify_node_address("advertise_addr", "eth9")
    with pytest.raises(AddressError) as err:
        na.resolve_node_address("advertise_addr", parsed, interfaces)
    text = str(err.value)
    assert "advertise_addr" in text and "'eth9'" in text
    assert "docker0, eth0, eth1, eth2, lo, v6only" in text
    assert na.resolve_node_address("advertise_addr", na.classify_node_address("advertise_addr", "eth1"), interfaces) == "192.168.213.12"
    assert na.resolve_node_address("advertise_addr", na.classify_node_address("advertise_addr", "10.9.9.9"), interfaces) == "10.9.9.9"
    with pytest.raises(AddressError, match="^data_path_addr: interface eth2 has more than one IPv4"):
        na.resolve_node_address("data_path_addr", na.classify_node_address("data_path_addr", "eth2", allow_port=False), interfaces)


def test_parse_remote_addr():
    assert na.parse_remote_addr("10.0.0.2") == ("10.0.0.2", 2377, "10.0.0.2:2377")
    assert na.parse_remote_addr("10.0.0.2:4000") == ("10.0.0.2", 4000, "10.0.0.2:4000")
    assert na.parse_remote_addr("fd00::2") == ("fd00::2", 2377, "[fd00::2]:2377")
    assert na.parse_remote_addr("mgr-1.example.org") == ("mgr-1.example.org", 2377, "mgr-1.example.org:2377")
    with pytest.raises(AddressError, match="remote_addrs: 'bad host!' is not"):
        na.parse_remote_addr("bad host!")


def test_addresses_overlap_normalises():
    assert na.addresses_overlap(["10.0.0.2:2377", "[fd00::0002]:2377"], ["fd00::2:2377", "[fd00::2]:2377", "10.0.0.9:2377"]) == ["[fd00::2]:2377"]
    assert na.addresses_overlap(["10.0.0.2:2377"], ["10.0.0.2:2378"]) == []
    assert na.addresses_overlap(["host:2377"], ["host:2377"]) == []  # only IP endpoints compare
    assert na.normalise_endpoint("10.0.0.2") is None


def test_resolve_remote_endpoints_for_ips_needs_no_dns():
    assert na.resolve_remote_endpoints("10.0.0.2", 2377) == ["10.0.0.2:2377"]
    assert na.resolve_remote_endpoints("fd00::2", 2377) == ["[fd00::2]:2377"]
    assert na.resolve_remote_endpoints("localhost", 2377)  # resolved from /etc/hosts


def _raiser(exc):
    def connect(_addr, _timeout):
        raise exc
    return connect


class _FakeSock(object):
    closed = False

    def close(self):
        self.closed = True


def test_check_tcp_reachable_reasons():
    assert na.check_tcp_reachable("10.0.0.2", 2377, connect=lambda a, t: _FakeSock()) is None
    assert na.check_tcp_reachable("10.0.0.2", 2377, connect=_raiser(ConnectionRefusedError(errno.ECONNREFUSED, "x"))) == "connection refused"
    assert na.check_tcp_reachable("10.0.0.2", 2377, 2.0, connect=_raiser(socket.timeout("timed out"))) == "no answer within 2s"
    assert na.check_tcp_reachable("h", 2377, connect=_raiser(socket.gaierror(-2, "Name or service not known"))) == "host name does not resolve"
    assert na.check_tcp_reachable("h", 2377, connect=_raiser(OSError(errno.EHOSTUNREACH, "No route"))) == "no route to host"
    assert na.check_tcp_reachable("h", 2377, connect=_raiser(OSError(errno.EACCES, "Permission denied"))) == "Permission denied"


def test_unreachable_message_names_address_and_port():
    msg = na.unreachable_message("10.0.0.2:2377", "connection refused")
    assert msg.startswith("cannot reach manager 10.0.0.2:2377 (connection refused): check that 2377/tcp is open")
    assert "2377/tcp" in na.unreachable_message("[fd00::2]:2377", "x")


def test_check_tcp_reachable_real_refused_on_loopback():
    # A port nobody listens on, on this machine only: the real socket path answers "connection refused".
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    assert na.check_tcp_reachable("127.0.0.1", port, 1.0) == "connection refused"


def test_node_interfaces_uses_ip_output_and_if_nameindex():
    names = [name for _i, name in socket.if_nameindex()]
    fake_out = "".join("%d: %s    inet 10.99.0.%d/24 scope global %s\\ x\n" % (i, n, i, n) for i, n in enumerate(names, 1))
    result = na.node_interfaces(lambda args: (0, fake_out, ""), "/usr/sbin/ip")
    assert sorted(result) == sorted(names)
    assert result[names[0]]["ipv4"] == ["10.99.0.1"]
    # Without `ip`, the ioctl fallback still lists every interface.
    assert sorted(na.node_interfaces()) == sorted(names)

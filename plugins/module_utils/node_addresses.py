# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Addresses a swarm node is told to use: parse them, check them, resolve them.

Docker accepts, for ``advertise_addr``, ``listen_addr`` and ``data_path_addr``,
either an IP address or the name of a network interface of the node (the
engine then uses that interface's only IPv4 address, or failing that its only
global IPv6 address). Anything that is not an IP address is therefore taken
as an interface name, exactly as dockerd does. ``remote_addrs`` are manager
addresses: IPs or host names, never interfaces.

The parsing functions are pure (no network, no files) so that unit tests can
cover them; the few functions that look at the node say so in their docstring.
"""

import errno
import ipaddress
import re
import socket

SWARM_PORT = 2377

# Linux: IFNAMSIZ is 16 including the NUL; '/', ':' and whitespace are not allowed
# in a name (':' is only used for old-style alias labels, which dockerd rejects).
_IFNAME_RE = re.compile(r"^[^\s/:]{1,15}$")


class AddressError(ValueError):
    """A value the user gave cannot be used; the message names the option and the fix."""


def ip_version(host):
    """Return 4 or 6 when ``host`` is an IP address literal, else None (pure)."""
    try:
        return ipaddress.ip_address(host).version
    except ValueError:
        return None


def format_host_port(host, port):
    """Join host and port the way Go's net.JoinHostPort does: IPv6 in brackets (pure)."""
    if port is None:
        return host
    if ":" in host:
        return "[%s]:%d" % (host, port)
    return "%s:%d" % (host, port)


def _parse_port(text, option, value):
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise AddressError(
            "%s: %r has an invalid port %r: use a number between 1 and 65535, e.g. 10.0.0.1:%d"
            % (option, value, text, SWARM_PORT)
        )
    return int(text)


def split_host_port(value, option="address"):
    """Split ``value`` into (host, port or None) (pure).

    Accepts ``host``, ``host:port``, ``[v6]``, ``[v6]:port`` and a bare IPv6
    address (which has several colons, so it cannot carry a port unless it is
    bracketed). IPv6 hosts are returned without brackets and in compressed form.
    """
    if not isinstance(value, str):
        raise AddressError("%s: expected a string, got %r" % (option, value))
    text = value.strip()
    if not text:
        raise AddressError("%s: the address is empty: give an IP address, an interface name or a host name" % option)
    port = None
    if text.startswith("["):
        match = re.match(r"^\[([^\]]+)\](?::(.*))?$", text)
        if not match:
            raise AddressError("%s: %r is not a valid [IPv6]:port address, e.g. [fd00::1]:%d" % (option, value, SWARM_PORT))
        host = match.group(1)
        if match.group(2) is not None:
            port = _parse_port(match.group(2), option, value)
        if ip_version(host) != 6:
            raise AddressError("%s: %r: only an IPv6 address may be written in brackets" % (option, value))
    elif text.count(":") > 1:
        host = text
        if ip_version(host) != 6:
            raise AddressError(
                "%s: %r is neither an IPv6 address nor host:port; write IPv6 with a port as [addr]:port" % (option, value)
            )
    elif ":" in text:
        host, port_text = text.split(":", 1)
        port = _parse_port(port_text, option, value)
        if not host:
            raise AddressError("%s: %r has a port but no host or interface" % (option, value))
    else:
        host = text
    if ip_version(host) is not None:
        host = str(ipaddress.ip_address(host))
    return host, port


def is_interface_name(name):
    """True when ``name`` is syntactically a Linux interface name (pure)."""
    return bool(_IFNAME_RE.match(name or ""))


def parse_ip_addr_output(text):
    """Parse ``ip -o addr show`` output into {ifname: {'ipv4': [...], 'ipv6': [(addr, scope), ...]}} (pure).

    A line looks like
    ``4: eth0    inet 192.0.2.2/24 brd 192.0.2.255 scope global eth0\\       valid_lft ...``.
    Veth names may carry a ``@ifNN`` suffix, which is not part of the name.
    Interfaces without any address do not appear in this output.
    """
    result = {}
    for line in (text or "").splitlines():
        fields = line.split()
        if len(fields) < 4 or not fields[0].endswith(":"):
            continue
        name = fields[1].split("@", 1)[0]
        family = fields[2]
        if family not in ("inet", "inet6"):
            continue
        addr = fields[3].split("/", 1)[0]
        scope = "global"
        if "scope" in fields:
            idx = fields.index("scope")
            if idx + 1 < len(fields):
                scope = fields[idx + 1]
        entry = result.setdefault(name, {"ipv4": [], "ipv6": []})
        if family == "inet":
            entry["ipv4"].append(addr)
        else:
            entry["ipv6"].append((addr, scope))
    return result


def interface_ip(name, addresses):
    """The address dockerd would use for interface ``name``, picked as dockerd picks it (pure).

    ``addresses`` is the entry for that interface from parse_ip_addr_output().
    Mirrors dockerd's resolveInterfaceAddr (20.10 and later): more than one
    IPv4 address, or more than one IPv6 address (link-local ones count too),
    or no address at all is an error; otherwise IPv4 is preferred over IPv6.
    Raises AddressError; the caller adds the option name.
    """
    ipv4 = list(addresses.get("ipv4", []))
    ipv6 = [addr for addr, _scope in addresses.get("ipv6", [])]
    if len(ipv4) > 1:
        raise AddressError(
            "interface %s has more than one IPv4 address (%s), so Docker cannot choose: give the IP address to use instead of the interface name"
            % (name, ", ".join(ipv4))
        )
    if len(ipv6) > 1:
        raise AddressError(
            "interface %s has more than one IPv6 address (%s; Docker counts link-local ones too), so Docker refuses it: "
            "give the IP address to use instead of the interface name" % (name, ", ".join(ipv6))
        )
    if ipv4:
        return ipv4[0]
    if ipv6:
        return ipv6[0]
    raise AddressError("interface %s has no IP address: give an interface that has one, or an IP address of this node" % name)


def classify_node_address(option, value, default_port=None, allow_port=True):
    """Parse an advertise/listen/data-path value (pure).

    Returns a dict: ``kind`` ('ip' or 'interface'), ``host`` (IP or interface
    name), ``port`` (int or None; ``default_port`` when none was given) and
    ``value`` (the normalised string to hand to the engine).
    """
    host, port = split_host_port(value, option)
    if port is not None and not allow_port:
        raise AddressError(
            "%s: %r must not carry a port (the data path port is a cluster setting): give only an interface name or an IP address"
            % (option, value)
        )
    if port is None:
        port = default_port
    version = ip_version(host)
    if version is None:
        if not is_interface_name(host):
            raise AddressError(
                "%s: %r is neither an IP address nor a network interface name (Docker accepts only those here, not host names)"
                % (option, value)
            )
        kind = "interface"
    else:
        kind = "ip"
        if ipaddress.ip_address(host).is_unspecified and option != "listen_addr":
            raise AddressError("%s: %r is the unspecified address: other nodes cannot reach it; give a real address or interface" % (option, value))
    return dict(kind=kind, host=host, port=port, value=format_host_port(host, port))


def parse_remote_addr(value, option="remote_addrs"):
    """Parse one manager address: IP or host name, optional port, default 2377 (pure).

    Returns (host, port, normalised 'host:port' string).
    """
    host, port = split_host_port(value, option)
    if port is None:
        port = SWARM_PORT
    if ip_version(host) is None and not re.match(r"^[A-Za-z0-9]([A-Za-z0-9.\-_]*[A-Za-z0-9])?$", host):
        raise AddressError("%s: %r is not an IP address or a valid host name" % (option, value))
    return host, port, format_host_port(host, port)


def normalise_endpoint(value):
    """Canonical 'ip:port' for comparing addresses such as RemoteManagers[].Addr (pure).

    Returns None when ``value`` is not an IP with a port.
    """
    try:
        host, port = split_host_port(value)
    except AddressError:
        return None
    if port is None or ip_version(host) is None:
        return None
    return format_host_port(host, port)


def addresses_overlap(requested, known):
    """The canonical 'ip:port' endpoints present in both iterables (pure)."""
    wanted = set(filter(None, (normalise_endpoint(v) for v in requested)))
    have = set(filter(None, (normalise_endpoint(v) for v in known)))
    return sorted(wanted & have)


# --- functions that look at the node (not pure) -----------------------------


def node_interfaces(run_command=None, ip_bin=None):
    """Interfaces on this node: {name: {'ipv4': [...], 'ipv6': [...]}} (looks at the node).

    Names come from socket.if_nameindex() so that address-less interfaces are
    listed too; addresses from ``ip -o addr show`` when ``ip`` and a
    ``run_command(args) -> (rc, out, err)`` callable are given, else from the
    SIOCGIFADDR ioctl (which only sees the primary IPv4 address).
    """
    names = [name for _idx, name in socket.if_nameindex()]
    found = {}
    if run_command is not None and ip_bin:
        rc, out, _err = run_command([ip_bin, "-o", "addr", "show"])
        if rc == 0:
            found = parse_ip_addr_output(out)
    if not found:
        for name in names:
            addr = _ioctl_ipv4(name)
            found[name] = {"ipv4": [addr] if addr else [], "ipv6": []}
    result = {}
    for name in names:
        result[name] = found.get(name, {"ipv4": [], "ipv6": []})
    return result


def _ioctl_ipv4(name):
    """Primary IPv4 address of interface ``name`` via SIOCGIFADDR, or None."""
    try:
        import fcntl
        import struct
    except ImportError:
        return None
    siocgifaddr = 0x8915
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        packed = fcntl.ioctl(sock.fileno(), siocgifaddr, struct.pack("256s", name[:15].encode("utf-8")))
        return socket.inet_ntoa(packed[20:24])
    except (IOError, OSError):
        return None
    finally:
        sock.close()


def resolve_node_address(option, parsed, interfaces):
    """Check an advertise/listen/data-path value against this node's interfaces.

    ``parsed`` comes from classify_node_address(), ``interfaces`` from
    node_interfaces(). Returns the IP the engine will use (for an IP, itself).
    Raises AddressError naming the option, the interface and the node's interfaces.
    """
    if parsed["kind"] == "ip":
        return parsed["host"]
    name = parsed["host"]
    if name not in interfaces:
        raise AddressError(
            "%s: this node has no network interface named %r; its interfaces are: %s. "
            "Give one of them or an IP address of this node." % (option, name, ", ".join(sorted(interfaces)) or "(none)")
        )
    try:
        return interface_ip(name, interfaces[name])
    except AddressError as exc:
        raise AddressError("%s: %s" % (option, exc))


def resolve_remote_endpoints(host, port):
    """All 'ip:port' endpoints a manager host name resolves to (looks at DNS).

    An IP resolves to itself. Returns [] when the name does not resolve.
    """
    if ip_version(host) is not None:
        return [format_host_port(str(ipaddress.ip_address(host)), port)]
    try:
        infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    result = []
    for info in infos:
        endpoint = format_host_port(str(ipaddress.ip_address(info[4][0].split("%", 1)[0])), port)
        if endpoint not in result:
            result.append(endpoint)
    return result


def describe_socket_error(exc, timeout):
    """Short reason for a failed TCP connect, e.g. 'connection refused' (pure)."""
    if isinstance(exc, socket.timeout):
        return "no answer within %gs" % timeout
    if isinstance(exc, socket.gaierror):
        return "host name does not resolve"
    code = getattr(exc, "errno", None)
    reasons = {
        errno.ECONNREFUSED: "connection refused",
        errno.EHOSTUNREACH: "no route to host",
        errno.ENETUNREACH: "network unreachable",
        errno.ETIMEDOUT: "connection timed out",
    }
    if code in reasons:
        return reasons[code]
    return getattr(exc, "strerror", None) or str(exc) or exc.__class__.__name__


def check_tcp_reachable(host, port, timeout=3.0, connect=None):
    """Try a TCP connect to host:port (touches the network unless ``connect`` is given).

    Returns None when it connected, else a short reason string.
    ``connect`` defaults to socket.create_connection; tests may pass a fake.
    """
    connect = connect or socket.create_connection
    try:
        sock = connect((host, port), timeout)
    except (socket.error, socket.timeout, OSError) as exc:
        return describe_socket_error(exc, timeout)
    try:
        sock.close()
    except Exception:  # pylint: disable=broad-except
        pass
    return None


def unreachable_message(endpoint, reason):
    """The error text for a manager that cannot be reached (pure)."""
    port = endpoint.rsplit(":", 1)[-1]
    return (
        "cannot reach manager %s (%s): check that %s/tcp is open on the manager and in any firewall between, "
        "that the address is the manager's advertise address, and that the manager's Docker engine is running"
        % (endpoint, reason, port)
    )

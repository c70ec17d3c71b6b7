# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the firewall_chains module writes (pure: no I/O, unit-tested without a host).

It compares what a node keeps for its next boot (as node_facts reads it) with what is wanted,
and shapes the diff that check and diff mode show. It also writes the firewall role's chains as rule
lines and the file they are kept in for the next boot (used by firewall_role_plan.py, the role's plan).
"""


def plan_writes(now, restore, boot_rules, boot_unit):
    """Which writes a node needs.

    now: dict(rules, unit, enabled, systemd) as node_facts reads the boot files (rules/unit None when missing).
    restore: iptables-restore lines to apply now ([]: nothing). boot_rules / boot_unit: wanted contents (None: leave).
    The unit is written and enabled only where systemd runs the node; a rewritten unit is enabled again, since
    its [Install] section may have changed. systemd reloads its configuration (`reload`) only where it may hold
    the unit's old content: a new unit is read from disk at boot (the only time it runs) and by any systemctl
    call, so enabling it needs just the boot link, and a reload in each node's systemd was most of a fresh
    node's cost of this module.
    """
    systemd = bool(now.get("systemd"))
    write_rules = boot_rules is not None and now.get("rules") != boot_rules
    write_unit = systemd and boot_unit is not None and now.get("unit") != boot_unit
    enable = systemd and boot_unit is not None and (write_unit or not now.get("enabled"))
    reload = write_unit and now.get("unit") is not None
    return dict(restore=bool(restore), write_rules=write_rules, write_unit=write_unit, enable=enable, reload=reload)


BUILT_IN_CHAINS = ("INPUT", "FORWARD", "OUTPUT")


def chains_to_create(restore):
    """Chains the lines add rules to (-A/-I) without declaring them (:NAME) and that are not built in.

    Declaring a chain in an iptables-restore --noflush input flushes it, so Docker's DOCKER-USER is only
    referenced; when it is missing (a firewalld reload flushed Docker's chains and the engine has not put them
    back yet) the restore would fail with "No chain/target/match by that name", so it is created first.
    (At boot, before the engine, roles/firewall/files/swarmnet-firewall.service does the same in shell.)
    """
    declared = set(line[1:].split()[0] for line in restore if line.startswith(":") and len(line) > 1)
    wanted = []
    for line in restore:
        words = line.split()
        if len(words) > 1 and words[0] in ("-A", "-I") and words[1] not in BUILT_IN_CHAINS + tuple(declared):
            if words[1] not in wanted:
                wanted.append(words[1])
    return wanted


def plan_diff(now, plan, restore, boot_rules, boot_unit, rules_path, unit_path):
    """Diff mode's list of before/after pairs: one per file to write, one for the lines applied now."""
    diff = []
    if plan["restore"]:
        diff.append(dict(before_header="iptables now", after_header="iptables-restore --noflush",
                         before="", after="\n".join(restore) + "\n"))
    if plan["write_rules"]:
        diff.append(dict(before_header=rules_path, after_header=rules_path,
                         before=now.get("rules") or "", after=boot_rules))
    if plan["write_unit"]:
        diff.append(dict(before_header=unit_path, after_header=unit_path,
                         before=now.get("unit") or "", after=boot_unit))
    if plan["enable"]:
        diff.append(dict(before_header="enabled at boot", after_header="enabled at boot",
                         before="%s\n" % bool(now.get("enabled")), after="True\n"))
    return diff


def _cidr(source):
    """A source as iptables -S prints it: a bare address gets /32."""
    return source if "/" in source else source + "/32"


def swarm_chain_rules(chain, sources, ports, ssh_ports=(), default_deny=False, allow_esp=False):
    """The swarm chain's rules, exactly as `iptables -S CHAIN` prints them (without its -N line).

    sources: addresses or CIDRs the swarm ports are open to; ports: dicts with proto, port and why (the comment);
    with default_deny, loopback, replies and ssh_ports (TCP) come first, since INPUT then drops all else.
    (In Python, not a template: the role works this out for every host on every run, and a template's loop
    over the cluster's nodes cost tens of milliseconds a host.)
    """
    rules = []
    if default_deny:
        rules.append("-A %s -i lo -j ACCEPT" % chain)
        rules.append("-A %s -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT" % chain)
        rules.extend("-A %s -p tcp -m tcp --dport %s -m comment --comment ssh-kept-open -j ACCEPT" % (chain, port)
                     for port in ssh_ports)
    for source in sources:
        for rule in ports:
            rules.append("-A {chain} -s {cidr} -p {proto} -m {proto} --dport {port} -m comment --comment {why} -j ACCEPT"
                         .format(chain=chain, cidr=_cidr(source), proto=rule["proto"], port=rule["port"], why=rule["why"]))
        if allow_esp:
            rules.append("-A %s -s %s -p esp -m comment --comment overlay-encryption -j ACCEPT" % (chain, _cidr(source)))
    return rules


def published_chain_rules(chain, sources):
    """The published-ports chain's rules, exactly as `iptables -S CHAIN` prints them (without its -N line).

    Reached from DOCKER-USER: a new connection that Docker forwards to a published port (ingress or host mode,
    both DNAT) from a host interface returns to Docker's rules only from an allowed source; replies and traffic
    from Docker's own bridges always return.
    """
    return (["-A %s -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN" % chain,
             "-A %s -i docker+ -j RETURN" % chain,
             "-A %s -i br-+ -j RETURN" % chain,
             "-A %s -i veth+ -j RETURN" % chain]
            + ["-A %s -s %s -j RETURN" % (chain, _cidr(source)) for source in sources]
            + ["-A %s -m conntrack --ctstate DNAT -m comment --comment published-port-source-not-allowed -j DROP" % chain])


BOOT_RULES_HEADER = "# Written by the swarmnet.overlay firewall role; rewritten by it, do not edit."


def boot_rules_file(swarm_rules, swarm_chain, published_rules, published_chain, default_deny=False):
    """What swarmnet-firewall.service restores at boot with iptables-restore --noflush (the file's whole text).

    The swarm chain, its jump and INPUT's policy with default_deny where swarm_chain is given (the iptables
    backend; None where ufw or firewalld keeps the swarm ports), and the published-ports chain with its jump
    where published_rules is not empty. The jumps go first in their chains, as the role puts them now.
    """
    lines = [BOOT_RULES_HEADER, "*filter"]
    if swarm_chain and default_deny:
        lines.append(":INPUT DROP [0:0]")
    if swarm_chain:
        lines.append(":%s - [0:0]" % swarm_chain)
    if published_rules:
        lines.append(":%s - [0:0]" % published_chain)
    if swarm_chain:
        lines.extend(swarm_rules)
        lines.append("-I INPUT 1 -m comment --comment swarmnet -j %s" % swarm_chain)
    if published_rules:
        lines.extend(published_rules)
        lines.append("-I DOCKER-USER 1 -m comment --comment swarmnet -j %s" % published_chain)
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"

# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write the firewall role's iptables chains on the node the module runs on (talks to the host).

What to write is decided in firewall_chains_plan.py (pure). node_facts reads the boot files with
firewall_boot_state() too. No Docker SDK here: the module does not pay for importing it.
"""

import os
import tempfile

from ansible_collections.swarmnet.overlay.plugins.module_utils.firewall_chains_plan import chains_to_create

# What the firewall role keeps so that its iptables chains come back after a reboot.
FIREWALL_BOOT_RULES = "/etc/swarmnet/firewall-boot.rules"
FIREWALL_BOOT_UNIT = "/etc/systemd/system/swarmnet-firewall.service"
FIREWALL_BOOT_WANTS = "/etc/systemd/system/multi-user.target.wants/swarmnet-firewall.service"
BOOT_UNIT_NAME = os.path.basename(FIREWALL_BOOT_UNIT)


def _read_or_none(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def firewall_boot_state():
    """What the node keeps for its next boot: the rules file and the unit (None when missing), whether systemd
    starts that unit at boot, and whether systemd runs the node at all."""
    return dict(rules=_read_or_none(FIREWALL_BOOT_RULES), unit=_read_or_none(FIREWALL_BOOT_UNIT),
                enabled=os.path.exists(FIREWALL_BOOT_WANTS), systemd=os.path.isdir("/run/systemd/system"))


def create_missing_chains(module, chains):
    """Create each chain that does not exist (an existing one is left as it is, rules and all)."""
    iptables = module.get_bin_path("iptables", required=True)
    for chain in chains:
        if module.run_command([iptables, "-w", "-n", "-L", chain])[0] == 0:
            continue
        rc, _out, err = module.run_command([iptables, "-w", "-N", chain])
        if rc != 0 and "exists" not in err:
            module.fail_json(msg="iptables could not create the chain %s (rc %d): %s. Nothing was applied." % (chain, rc, err.strip()))


def iptables_restore(module, lines):
    """One atomic iptables-restore --noflush of the lines, after creating the chains they use and do not declare."""
    create_missing_chains(module, chains_to_create(lines))
    argv = [module.get_bin_path("iptables-restore", required=True), "-w", "--noflush"]
    rc, _out, err = module.run_command(argv, data="\n".join(lines) + "\n", binary_data=True)
    if rc != 0:
        module.fail_json(msg="iptables-restore could not apply the chains (rc %d): %s. The lines are in 'restore'; "
                             "nothing was applied (iptables-restore commits all of them or none)." % (rc, err.strip()),
                         restore=lines)


def write_file(module, path, content, mode):
    """Write a file atomically (a temporary file in the same directory, then a rename), with the given mode."""
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".%s." % os.path.basename(path))
    with os.fdopen(handle, "w") as out:
        out.write(content)
    module.atomic_move(temporary, path)
    os.chmod(path, mode)  # atomic_move gives a new file the umask's mode


def enable_boot_unit(module, reload):
    """Have systemd start the unit at boot (not now: the chains are in place already). `systemctl enable` reloads
    systemd's configuration itself unless told --no-reload; the plan asks for that reload only where systemd may
    hold an older copy of the unit (see plan_writes)."""
    argv = [module.get_bin_path("systemctl", required=True), "enable", BOOT_UNIT_NAME] + ([] if reload else ["--no-reload"])
    rc, _out, err = module.run_command(argv)
    if rc != 0:
        module.fail_json(msg="%s failed (rc %d): %s" % (" ".join(argv), rc, err.strip()))


def apply(module, plan, restore, boot_rules, boot_unit):
    """Carry out the plan: the chains now first (the running firewall matters most), then the boot files."""
    if plan["restore"]:
        iptables_restore(module, restore)
    if plan["write_rules"]:
        write_file(module, FIREWALL_BOOT_RULES, boot_rules, 0o600)
    if plan["write_unit"]:
        write_file(module, FIREWALL_BOOT_UNIT, boot_unit, 0o644)
    if plan["enable"]:
        enable_boot_unit(module, plan["reload"])

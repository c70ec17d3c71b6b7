#!/usr/bin/python
# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: firewall_chains
short_description: Write iptables chains now with one iptables-restore, and keep them for the next boot
description:
  - Writes, in one remote execution, what the firewall role's iptables chains need on the node the task runs on.
    This is the role's only writer of iptables rules; it is public so that a playbook can keep rules of its own the
    same way.
  - O(restore) is applied now with one atomic C(iptables-restore --noflush). It rewrites only the chains it declares
    (flushed first) and inserts the rules it lists; other chains, Docker's among them, are left as they are.
  - iptables rules live in the kernel only and vanish with a reboot. O(boot_rules) is kept in
    C(/etc/swarmnet/firewall-boot.rules) and O(boot_unit) is installed as
    C(/etc/systemd/system/swarmnet-firewall.service) and enabled (not started), so that systemd restores the file at
    boot. The unit is installed only where systemd runs the node. A file already as wanted is not rewritten.
    systemd reloads its configuration only when a unit it may have loaded is rewritten; a new unit is just linked
    for boot (C(systemctl enable --no-reload)), since systemd reads it from disk when it is first used.
version_added: 0.2.0
author:
  - swarmnet developers (@swarmnet)
options:
  restore:
    description:
      - The lines to give C(iptables-restore --noflush) now, from C(*filter) to C(COMMIT).
      - Pass only what differs from the node's rules (M(swarmnet.overlay.node_facts) reads them); any line given is
        applied and reported as a change. An empty list applies nothing now.
    type: list
    elements: str
    default: []
  boot_rules:
    description:
      - The content of C(/etc/swarmnet/firewall-boot.rules), the C(iptables-restore) input the unit loads at boot.
      - When omitted, the file is left as it is.
    type: str
  boot_unit:
    description:
      - The content of C(/etc/systemd/system/swarmnet-firewall.service), the unit that restores O(boot_rules) at boot.
      - When omitted, the unit is left as it is. Ignored where systemd does not run the node.
    type: str
notes:
  - Needs root, as the firewall role does.
  - The role's unit runs after ufw and firewalld and before the Docker engine. firewalld flushes iptables chains it
    does not own once it has started, so on a firewalld host the chains written here come back with the next run
    of the role, not at boot.
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: >-
      Nothing is run or written. O(restore) is not given to C(iptables-restore --test) either: on a fresh host the
      chains it refers to (Docker's C(DOCKER-USER)) or iptables itself come only with the engine that the same run
      would install.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: The diff shows the lines applied now and each boot file before and after.
seealso:
  - module: swarmnet.overlay.node_facts
"""

EXAMPLES = r"""
- name: Open TCP 2377 to one source in a chain of our own, now and after every reboot
  swarmnet.overlay.firewall_chains:
    restore:
      - "*filter"
      - ":SWARMNET-INPUT - [0:0]"
      - "-A SWARMNET-INPUT -s 10.0.0.11/32 -p tcp -m tcp --dport 2377 -j ACCEPT"
      - "-I INPUT 1 -m comment --comment swarmnet -j SWARMNET-INPUT"
      - "COMMIT"
    boot_rules: |
      *filter
      :SWARMNET-INPUT - [0:0]
      -A SWARMNET-INPUT -s 10.0.0.11/32 -p tcp -m tcp --dport 2377 -j ACCEPT
      -I INPUT 1 -m comment --comment swarmnet -j SWARMNET-INPUT
      COMMIT
    boot_unit: "{{ lookup('ansible.builtin.file', 'swarmnet-firewall.service') }}"
"""

RETURN = r"""
restored:
  description: Whether O(restore) was applied now (in check mode, whether it would be).
  returned: always
  type: bool
  sample: true
written:
  description: The boot files written (in check mode, that would be written).
  returned: always
  type: list
  elements: str
  sample: [/etc/swarmnet/firewall-boot.rules]
enabled:
  description: Whether the unit was enabled at boot by this task (in check mode, would be).
  returned: always
  type: bool
  sample: false
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.swarmnet.overlay.plugins.module_utils import firewall_chains_host as host
from ansible_collections.swarmnet.overlay.plugins.module_utils.firewall_chains_plan import plan_diff, plan_writes


def argument_spec():
    return dict(
        restore=dict(type="list", elements="str", default=[]),
        boot_rules=dict(type="str"),
        boot_unit=dict(type="str"),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    restore, boot_rules, boot_unit = (module.params[k] for k in ("restore", "boot_rules", "boot_unit"))
    if restore and (restore[0].strip() != "*filter" or restore[-1].strip() != "COMMIT"):
        module.fail_json(msg="restore must run from '*filter' to 'COMMIT' (got %r ... %r): iptables-restore would "
                             "otherwise not commit the lines. Nothing was changed." % (restore[0], restore[-1]))
    now = host.firewall_boot_state()
    plan = plan_writes(now, restore, boot_rules, boot_unit)
    if not module.check_mode:
        host.apply(module, plan, restore, boot_rules, boot_unit)
    result = dict(changed=any(plan.values()), restored=plan["restore"], enabled=plan["enable"],
                  written=[path for path, key in ((host.FIREWALL_BOOT_RULES, "write_rules"),
                                                  (host.FIREWALL_BOOT_UNIT, "write_unit")) if plan[key]])
    if module._diff:
        result["diff"] = plan_diff(now, plan, restore, boot_rules, boot_unit, host.FIREWALL_BOOT_RULES, host.FIREWALL_BOOT_UNIT)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

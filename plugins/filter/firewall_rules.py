# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The firewall role's iptables chains as rule lines (the logic is in module_utils/firewall_chains_plan.py)."""

from ansible_collections.swarmnet.overlay.plugins.module_utils.firewall_chains_plan import (
    boot_rules_file, published_chain_rules, swarm_chain_rules)


def iptables_swarm_chain(chain, sources, ports, ssh_ports=None, default_deny=False, allow_esp=False):
    """See plugins/filter/iptables_swarm_chain.yml."""
    return swarm_chain_rules(chain, sources, ports, ssh_ports or [], default_deny, allow_esp)


def iptables_published_chain(chain, sources):
    """See plugins/filter/iptables_published_chain.yml."""
    return published_chain_rules(chain, sources)


def iptables_boot_file(swarm_rules, swarm_chain, published_rules, published_chain, default_deny=False):
    """See plugins/filter/iptables_boot_file.yml."""
    return boot_rules_file(swarm_rules, swarm_chain, published_rules, published_chain, default_deny)


class FilterModule(object):
    """swarmnet.overlay's filters."""

    def filters(self):
        return dict(iptables_swarm_chain=iptables_swarm_chain, iptables_published_chain=iptables_published_chain,
                    iptables_boot_file=iptables_boot_file)

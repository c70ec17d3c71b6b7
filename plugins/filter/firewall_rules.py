# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The firewall role's per-play and per-host plans (the logic is in module_utils/firewall_role_plan.py)."""

from ansible_collections.swarmnet.overlay.plugins.module_utils.firewall_role_plan import cluster_addresses, node_plan


def _reading(host_vars):
    """A host's node_facts reading (`node`) in this run: the firewall role's own, else the engine role's."""
    for name in ("firewall_node_read", "engine_node_facts"):
        if name in host_vars:
            result = host_vars[name]
            if isinstance(result, dict) and isinstance(result.get("node"), dict):
                return result["node"]
    return None


def firewall_cluster(hostvars, nodes, managers, play_hosts):
    """See plugins/filter/firewall_cluster.yml."""
    hosts = {}
    for host in set(nodes) | set(managers) | set(play_hosts):
        if host not in hostvars:
            continue
        host_vars = hostvars[host]
        hosts[host] = dict(override=host_vars["swarmnet_node_address"] if "swarmnet_node_address" in host_vars else "",
                           reading=_reading(host_vars),
                           hostname=host_vars["ansible_hostname"] if "ansible_hostname" in host_vars else None)
    return cluster_addresses(list(nodes), list(managers), list(play_hosts), hosts)


def firewall_plan(reading, cluster, settings, firewalld_reloaded=False):
    """See plugins/filter/firewall_plan.yml."""
    return node_plan(reading.get("node") or {}, cluster, settings, bool(firewalld_reloaded))


class FilterModule(object):
    """swarmnet.overlay's filters."""

    def filters(self):
        return dict(firewall_cluster=firewall_cluster, firewall_plan=firewall_plan)

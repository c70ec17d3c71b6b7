# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The swarm role's node list for the first manager (see swarm_nodes_wanted.yml)."""

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError


def swarm_nodes_wanted(hostvars, play_hosts):
    """See plugins/filter/swarm_nodes_wanted.yml."""
    wanted = []
    for host in play_hosts:
        host_vars = hostvars[host]
        if "swarm_node_plan" not in host_vars:
            raise AnsibleFilterError("swarm_nodes_wanted: %s has no swarm_node_plan; the swarm role publishes it on "
                                     "every host of the play before the first manager reads it" % host)
        plan = dict(host_vars["swarm_node_plan"])
        for name in ("swarm_manager_joined", "swarm_worker_joined"):
            joined = host_vars[name] if name in host_vars else None
            # A join in check mode changes nothing and has no node ID: the ID read before it stands.
            if isinstance(joined, Mapping) and joined.get("changed") and joined.get("node_id"):
                plan["node_id"] = joined["node_id"]
        wanted.append(plan)
    return wanted


class FilterModule(object):
    """swarmnet.overlay's swarm filters."""

    def filters(self):
        return dict(swarm_nodes_wanted=swarm_nodes_wanted)

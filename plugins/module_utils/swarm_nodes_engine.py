# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The swarm_nodes module's talk with a manager's engine: read the node list, apply a plan, wait for Ready.

Decisions are made in swarm_nodes_plan (pure); this file only carries them out.
"""


import time

from ansible_collections.swarmnet.overlay.plugins.module_utils.docker_client import (
    APIError,
    DockerException,
    api_error_text,
)
from ansible_collections.swarmnet.overlay.plugins.module_utils.swarm_nodes_plan import (
    PlanError,
    node_spec,
    waiting_for,
)

try:
    from requests.exceptions import RequestException
except ImportError:  # requests comes with the Docker SDK; without it get_docker_client fails first
    class RequestException(Exception):
        """Stand-in for requests.exceptions.RequestException."""


class NodesError(Exception):
    """A failure while applying; carries what was already done."""

    def __init__(self, msg, actions):
        super(NodesError, self).__init__(msg)
        self.msg = msg
        self.actions = actions


class SwarmNodes(object):
    """Reads and changes the node list through one manager's API."""

    def __init__(self, client):
        self.api = client.api

    def read(self):
        """(node list, cluster ID) as the manager sees them; a clear PlanError when this is no manager."""
        try:
            info = self.api.info()
            if not (info.get("Swarm") or {}).get("ControlAvailable"):
                raise PlanError("this node is not a swarm manager (swarm state: %s); run swarm_nodes on a manager"
                                % ((info.get("Swarm") or {}).get("LocalNodeState") or "unknown"))
            return self.api.nodes(), self.api.inspect_swarm().get("ID")
        except (APIError, DockerException, RequestException) as exc:
            raise PlanError("cannot read the node list: %s" % api_error_text(exc))

    def apply(self, plan_result, nodes):
        """Carry out the plan: updates in order, stale removals before demotions. Returns the actions done."""
        specs = dict((n["ID"], n.get("Spec") or {}) for n in nodes)
        done = []
        demotions = [u for u in plan_result["updates"] if u["before"]["role"] == "manager" and u["after"]["role"] == "worker"]
        others = [u for u in plan_result["updates"] if u not in demotions]
        try:
            for update in others:
                self._update(update, specs, done)
            for entry in plan_result["removals"]:
                if entry["manager"]:
                    # A manager entry must leave the Raft membership before it can be removed.
                    fresh = self.api.inspect_node(entry["id"])
                    spec = dict(fresh.get("Spec") or {}, Role="worker")
                    self.api.update_node(entry["id"], fresh["Version"]["Index"], spec)
                self.api.remove_node(entry["id"])
                done.append("removed stale entry %s of %s (Down; %s is Ready under another ID)"
                            % (entry["id"], entry["hostname"], entry["hostname"]))
            for update in demotions:
                self._update(update, specs, done)
        except (APIError, DockerException, RequestException) as exc:
            raise NodesError("applying the node changes failed after %d action(s): %s" % (len(done), api_error_text(exc)), done)
        return done

    def _update(self, update, specs, done):
        self.api.update_node(update["id"], update["version"], node_spec(specs.get(update["id"]), update["after"]))
        changed = ["%s %s -> %s" % (key, update["before"][key], update["after"][key])
                   for key in ("role", "availability", "labels") if update["before"][key] != update["after"][key]]
        done.append("%s: %s" % (update["name"], ", ".join(changed)))

    def wait_ready(self, wanted, timeout, interval=2):
        """Poll the node list until every wanted node is Ready and no older entry of theirs is still live.

        Returns the last node list or raises PlanError naming what is still pending.
        """
        deadline = time.time() + timeout
        while True:
            try:
                nodes = self.api.nodes()
            except (APIError, DockerException, RequestException) as exc:
                raise PlanError("cannot read the node list while waiting for Ready: %s" % api_error_text(exc))
            pending = waiting_for(wanted, nodes)
            if not pending:
                return nodes
            if time.time() >= deadline:
                raise PlanError("after %d s: %s. See docker node ls on a manager and the engine's log on those "
                                "nodes (journalctl -u docker)" % (timeout, "; ".join(pending)))
            time.sleep(interval)

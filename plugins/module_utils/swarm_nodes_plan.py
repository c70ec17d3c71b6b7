# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planning what the swarm's node list needs (pure: no Docker, unit-testable).

The swarm_nodes module reads the node list once on a manager, and this file
decides from it, for every node the inventory names: which entry is that node,
which role, labels and availability it must get, which stale entries (Down,
left behind by a rejoin) go, and whether a demotion would lose the Raft quorum.
The quorum rule lives here only; playbooks/node_role.yml and the swarm role
both reach it through the swarm_nodes module.
"""


AVAILABILITIES = ("active", "pause", "drain")
ROLES = ("manager", "worker")


class PlanError(Exception):
    """A request the node list cannot satisfy; the message says what and how to fix it."""


def node_summary(node):
    """The fields of one API node entry that decisions and diffs use (pure)."""
    spec = node.get("Spec") or {}
    status = node.get("Status") or {}
    manager = node.get("ManagerStatus") or {}
    return dict(
        id=node.get("ID"),
        version=(node.get("Version") or {}).get("Index"),
        hostname=(node.get("Description") or {}).get("Hostname"),
        role=spec.get("Role"),
        availability=spec.get("Availability"),
        labels=dict(spec.get("Labels") or {}),
        state=status.get("State"),
        addr=status.get("Addr"),
        manager=bool(manager),
        reachable=manager.get("Reachability") == "reachable",
        leader=bool(manager.get("Leader")),
        manager_addr=manager.get("Addr"),
    )


def demotion_keeps_quorum(managers, reachable, demoted_reachable=1, demoted_total=1):
    """Whether demoting managers leaves at least one manager and a Raft majority reachable (pure).

    managers: managers now; reachable: of those, reachable now; demoted_*: how
    many managers the demotion removes, and how many of them are reachable.
    """
    after = managers - demoted_total
    after_reachable = reachable - demoted_reachable
    return after >= 1 and after_reachable >= after // 2 + 1


def match_nodes(wanted, entries):
    """Map each wanted node's name to its current entry summary, or None when it is not in the swarm (pure).

    A wanted node is found by its node ID when given and listed, else by its
    hostname among entries that are not Down. Two live entries with one
    hostname and no node ID to choose between them is an error.
    """
    by_id = dict((e["id"], e) for e in entries)
    found = {}
    for node in wanted:
        entry = by_id.get(node.get("node_id") or "")
        if entry is None:
            live = [e for e in entries if e["hostname"] == node["name"] and e["state"] != "down"]
            if len(live) > 1:
                raise PlanError("node %s: %d live entries have that hostname (%s); give node_id to say which one is this node"
                                % (node["name"], len(live), ", ".join(sorted(e["id"] for e in live))))
            entry = live[0] if live else None
        found[node["name"]] = entry
    return found


def wanted_spec(entry, node):
    """The (role, availability, labels) the entry must have for this wanted node (pure)."""
    labels = dict(entry["labels"])
    labels.update(dict((str(k), str(v)) for k, v in (node.get("labels") or {}).items()))
    return dict(
        role=node.get("role") or entry["role"],
        availability=node.get("availability") or entry["availability"],
        labels=labels,
    )


def stale_entries(matched, entries):
    """Down entries whose hostname belongs to a Ready wanted node with another ID (pure).

    The only entry of a hostname is never stale: a Down node without a Ready
    twin is an outage to report, not an entry to clean up.
    """
    ready = dict((e["hostname"], e["id"]) for e in matched.values() if e is not None and e["state"] == "ready")
    return [e for e in entries
            if e["state"] == "down" and e["hostname"] in ready and e["id"] != ready[e["hostname"]]]


def plan(wanted, nodes, remove_stale=True):
    """Decide every change for the wanted nodes against the API node list (pure).

    wanted: list of dicts name, node_id (optional), role, labels, availability
    (None or missing: leave as is). nodes: the engine's node list.
    Returns a dict:
      updates: list of dicts id, name, version, before, after (spec summaries),
               promotions first, then other changes, then demotions
      removals: stale entries (summaries), to remove after the updates but before demotions
      missing: names of wanted nodes not in the swarm
      refused: messages for demotions that would lose the quorum (nothing is planned for them)
      nodes: name -> current entry summary (or None)
    Raises PlanError on bad input.
    """
    for node in wanted:
        if not node.get("name"):
            raise PlanError("nodes: every entry needs a name (the node's hostname as the swarm knows it)")
        if node.get("role") not in (None,) + ROLES:
            raise PlanError("nodes[%s].role: %r is not one of %s" % (node["name"], node["role"], ", ".join(ROLES)))
        if node.get("availability") not in (None,) + AVAILABILITIES:
            raise PlanError("nodes[%s].availability: %r is not one of %s"
                            % (node["name"], node["availability"], ", ".join(AVAILABILITIES)))
    entries = [node_summary(n) for n in nodes]
    matched = match_nodes(wanted, entries)
    removals = stale_entries(matched, entries) if remove_stale else []
    promotions, changes, demotions = [], [], []
    for node in wanted:
        entry = matched[node["name"]]
        if entry is None:
            continue
        before = dict(role=entry["role"], availability=entry["availability"], labels=entry["labels"])
        after = wanted_spec(entry, node)
        if after == before:
            continue
        update = dict(id=entry["id"], name=node["name"], version=entry["version"], before=before, after=after,
                      reachable=entry["reachable"])
        if before["role"] == "worker" and after["role"] == "manager":
            promotions.append(update)
        elif before["role"] == "manager" and after["role"] == "worker":
            demotions.append(update)
        else:
            changes.append(update)
    # Promotions and stale manager entries going away change the counts the guard uses.
    managers = sum(1 for e in entries if e["manager"]) + len(promotions)
    reachable = sum(1 for e in entries if e["reachable"]) + len(promotions)
    managers -= sum(1 for e in removals if e["manager"])
    reachable -= sum(1 for e in removals if e["manager"] and e["reachable"])
    allowed, refused = [], []
    for update in demotions:
        lost = 1 if update["reachable"] else 0
        if demotion_keeps_quorum(managers, reachable, lost, 1):
            managers -= 1
            reachable -= lost
            allowed.append(update)
        else:
            refused.append("refusing to demote %s: the swarm has %d manager(s), %d reachable; after the demotion it would "
                           "have no manager or no quorum. Promote another node first." % (update["name"], managers, reachable))
    return dict(updates=promotions + changes + allowed, removals=removals,
                missing=sorted(n["name"] for n in wanted if matched[n["name"]] is None),
                refused=refused, nodes=matched)


def not_ready(wanted, nodes):
    """Names of wanted nodes that are not in the swarm or not Ready, per a fresh node list (pure)."""
    matched = match_nodes(wanted, [node_summary(n) for n in nodes])
    return sorted(name for name, entry in matched.items() if entry is None or entry["state"] != "ready")


def live_twins(wanted, nodes):
    """Entries not yet Down that carry a wanted node's hostname under another ID (pure).

    A host rebuilt with the same hostname joins under a new ID while its old
    entry still counts as Ready until the managers miss its heartbeats (about
    15 s); only then is it a stale entry that can go. Two live hosts sharing a
    hostname stay twins for good, which the wait reports.
    """
    entries = [node_summary(n) for n in nodes]
    matched = match_nodes(wanted, entries)
    ids = dict((name, entry["id"]) for name, entry in matched.items() if entry is not None)
    return [e for e in entries if e["hostname"] in ids and e["id"] != ids[e["hostname"]] and e["state"] != "down"]


def waiting_for(wanted, nodes):
    """What a wait for a settled node list still waits for: messages, empty when settled (pure)."""
    pending = ["%s not Ready" % name for name in not_ready(wanted, nodes)]
    pending += ["an older entry %s of %s still %s (a host rebuilt with that hostname leaves one; two hosts "
                "sharing a hostname must be renamed)" % (e["id"], e["hostname"], e["state"]) for e in live_twins(wanted, nodes)]
    return pending


def node_spec(current_spec, after):
    """The full node spec to send: the current one with role, availability and labels replaced (pure)."""
    spec = dict(current_spec or {})
    spec["Role"] = after["role"]
    spec["Availability"] = after["availability"]
    spec["Labels"] = dict(after["labels"])
    return spec


def manager_addresses(nodes):
    """'ip:port' of the reachable managers, the leader first: where other nodes join (pure)."""
    entries = [node_summary(n) for n in nodes]
    managers = [e for e in entries if e["reachable"] and e["manager_addr"]]
    managers.sort(key=lambda e: (not e["leader"], e["manager_addr"]))
    return [e["manager_addr"] for e in managers]


def diff_view(plan_result):
    """before/after dicts for Ansible's diff: name -> role/availability/labels, and removed entries (pure)."""
    before, after = {}, {}
    for update in plan_result["updates"]:
        before[update["name"]] = update["before"]
        after[update["name"]] = update["after"]
    for entry in plan_result["removals"]:
        key = "stale %s (%s)" % (entry["hostname"], entry["id"])
        before[key] = dict(state=entry["state"], role=entry["role"])
        after[key] = "removed"
    return dict(before=before, after=after)

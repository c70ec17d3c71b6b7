# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure analysis for the service_endpoint_probe module (no Docker needed).

The probe has three steps: probe_runner gathers facts from the engine
(service, tasks, network, node) into a *context* dict; probe_script runs
inside a container on the overlay network and prints the *raw* observations
as JSON; this file turns both into the module's result: DNS answers, the
inferred endpoint mode, answers grouped by responder per target, and
diagnoses that name the likely cause of what does not answer.

Shapes (all plain dicts so that recorded inputs can drive unit tests):

context = {
    "probe_node": {"id": str, "name": str},
    "network": {"id": str, "name": str, "attachable": bool},
    "service": {"id": str, "name": str, "endpoint_mode": "vip"|"dnsrr"|None,
                "vip": str|None, "networks": [str] | None, "published_port": int|None},
    "tasks": [{"id": str, "node_id": str, "node": str, "address": str|None}],
    "ipvs": {"present": bool, "checked": [str]},
    "port": int, "path": str, "node_addresses": [str],
}
raw = {"dns": {"name": {"query": str, "addresses": [str], "error": str|None},
               "tasks": {...}},
       "targets": [{"url": str, "answers": [{"ok": bool, "line": str, "reason": str, "ms": float,
                                             "address": str (requests by name only)}]}]}
"""

import ipaddress
import json

from ansible_collections.swarmnet.overlay.plugins.module_utils import probe_script

# Target groups, in the order they are probed and reported.
GROUP_NAME = "name"
GROUP_VIP = "vip"
GROUP_TASK = "task"
GROUP_PUBLISHED = "published"

# Groups whose answers are compared with min_responders (a task address
# always has exactly one responder, a published port goes through the mesh).
RESPONDER_GROUPS = (GROUP_NAME, GROUP_VIP)

MODE_VIP = "vip"
MODE_DNSRR = "dnsrr"
MODE_UNRESOLVABLE = "unresolvable"
MODE_UNKNOWN = "unknown"

# The reasons the probe script gives for failed requests.
REASON_TIMEOUT = probe_script.REASON_TIMEOUT
REASON_REFUSED = probe_script.REASON_REFUSED
REASON_UNRESOLVABLE = probe_script.REASON_UNRESOLVABLE


class ProbeError(Exception):
    """The probe could not run or its output could not be read."""


def is_ipv4(text):
    """True for an IPv4 address (guards against engine placeholders like "<nil>")."""
    if not isinstance(text, str):
        return False
    try:
        ipaddress.IPv4Address(text or "")
    except ValueError:
        return False
    return True


def _path(context):
    path = context.get("path") or "/"
    return path if path.startswith("/") else "/" + path


def _url(host, port, path):
    return "http://%s:%d%s" % (host, port, path)


def build_targets(context):
    """The list of targets to probe, from the context gathered on the node.

    Each target: {group, target (label), address, node, local, url}.
    """
    service = context["service"]
    port = context["port"]
    path = _path(context)
    probe_node_id = context["probe_node"].get("id")
    targets = [dict(group=GROUP_NAME, target="name %s" % service["name"], address=service["name"],
                    node=None, local=None, url=_url(service["name"], port, path))]
    # Only literal addresses: anything else would become a DNS lookup.
    if is_ipv4(service.get("vip")):
        targets.append(dict(group=GROUP_VIP, target="vip %s" % service["vip"], address=service["vip"],
                            node=None, local=None, url=_url(service["vip"], port, path)))
    for task in sorted(context.get("tasks") or [], key=lambda t: (t.get("node") or "", t.get("address") or "")):
        if not is_ipv4(task.get("address")):
            continue
        targets.append(dict(group=GROUP_TASK, target="task %s on %s" % (task["address"], task.get("node") or "?"),
                            address=task["address"], node=task.get("node"),
                            local=bool(probe_node_id) and task.get("node_id") == probe_node_id,
                            url=_url(task["address"], port, path)))
    published = service.get("published_port")
    if published:
        for addr in context.get("node_addresses") or []:
            targets.append(dict(group=GROUP_PUBLISHED, target="published %s:%d" % (addr, published),
                                address=addr, node=None, local=None, url=_url(addr, published, path)))
    return targets


def _spec_target(target, context):
    entry = {"url": target["url"]}
    if target["group"] == GROUP_NAME:
        entry.update(name=target["address"], port=context["port"], path=_path(context))
    return entry


def build_spec(context, requests, timeout):
    """The JSON-able input of probe_script."""
    name = context["service"]["name"]
    return {
        "names": {"name": name, "tasks": "tasks." + name},
        "requests": int(requests),
        "timeout": float(timeout),
        "targets": [_spec_target(t, context) for t in build_targets(context)],
    }


def parse_probe_output(stdout, stderr="", exit_code=0):
    """Read the JSON printed by probe_script, or raise ProbeError saying why not."""
    if isinstance(stdout, bytes):
        stdout = stdout.decode("utf-8", "replace")
    if isinstance(stderr, bytes):
        stderr = stderr.decode("utf-8", "replace")
    text = (stdout or "").strip()
    try:
        raw = json.loads(text) if text else None
    except ValueError:
        raw = None
    if not isinstance(raw, dict) or "targets" not in raw or "dns" not in raw:
        tail = " | ".join(((stderr or "") + "\n" + (stdout or "")).strip().splitlines()[-5:])
        raise ProbeError("the probe script printed no result (exit code %s): %s" % (exit_code, tail or "no output"))
    return raw


def median(values):
    """Median of a non-empty list of numbers."""
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return round((ordered[mid - 1] + ordered[mid]) / 2.0, 1)


def summarize_answers(answers):
    """Group one target's answers: responders {line: count}, failures, latency."""
    responders = {}
    failures = []
    times = []
    for index, answer in enumerate(answers):
        if answer.get("ok"):
            line = answer.get("line") or "(empty body)"
            responders[line] = responders.get(line, 0) + 1
            if answer.get("ms") is not None:
                times.append(answer["ms"])
        else:
            failures.append({"request": index + 1, "reason": answer.get("reason") or "unknown"})
    latency = {"min": min(times), "median": median(times), "max": max(times)} if times else None
    return responders, failures, latency


def address_counts(answers):
    """{address: requests sent there} for requests by name, None for other targets."""
    counts = {}
    for answer in answers:
        if answer.get("address"):
            counts[answer["address"]] = counts.get(answer["address"], 0) + 1
    return counts or None


def failure_counts(failures):
    """{reason: count} for a list of failures."""
    counts = {}
    for failure in failures:
        counts[failure["reason"]] = counts.get(failure["reason"], 0) + 1
    return counts


def describe_failures(result):
    """E.g. '6 of 6 failed: timeout x6'."""
    counts = failure_counts(result["failures"])
    if not counts:
        return "all %d answered" % result["requests"]
    parts = ", ".join("%s x%d" % (reason, counts[reason]) for reason in sorted(counts))
    return "%d of %d failed: %s" % (len(result["failures"]), result["requests"], parts)


def infer_endpoint_mode(name_addresses, task_addresses, vip=None):
    """vip | dnsrr | unresolvable | unknown, from what the service name resolves to.

    vip: one address that is no task's address (the service VIP).
    dnsrr: only task addresses (every task, or some while DNS catches up).
    """
    names = set(name_addresses or [])
    tasks = set(task_addresses or [])
    if not names:
        return MODE_UNRESOLVABLE
    if tasks and names <= tasks:
        return MODE_DNSRR
    if len(names) == 1 and not names & tasks:
        # A known VIP that differs from the answer means something else answers.
        return MODE_VIP if not vip or vip in names else MODE_UNKNOWN
    if len(names) > 1 and not tasks:
        # Several addresses and no task list to compare with: only dnsrr
        # gives a name more than one address.
        return MODE_DNSRR
    return MODE_UNKNOWN


def _join(items):
    items = list(items)
    return ", ".join(items) if items else "none"


def diagnose(context, dns, targets, endpoint_mode):
    """Likely causes for what did not answer, as sentences (empty when all is well)."""
    diagnoses = []
    service = context["service"]
    network = context["network"]
    name = service["name"]
    node = context["probe_node"].get("name") or "this node"
    ipvs_present = (context.get("ipvs") or {}).get("present")
    port = context["port"]

    by_group = {}
    for result in targets:
        by_group.setdefault(result["group"], []).append(result)
    tasks = by_group.get(GROUP_TASK, [])
    answering_tasks = [t for t in tasks if t["responders"]]

    # The name does not resolve: almost always the service is not on the network.
    if not dns["name"]["addresses"]:
        networks = service.get("networks")
        if networks is not None and network["name"] not in networks and network["id"] not in networks:
            diagnoses.append(
                "The name '%s' does not resolve on network %s: the service is not attached to that network "
                "(its networks: %s). ingress gives no service discovery by name; attach the service with "
                "`docker service update --network-add %s %s`." % (name, network["name"], _join(networks), network["name"], name))
        elif not context.get("tasks"):
            diagnoses.append(
                "The name '%s' does not resolve on network %s: the service has no running task there, and the "
                "embedded DNS (127.0.0.11) only knows services with tasks on the network." % (name, network["name"]))
        else:
            diagnoses.append(
                "The name '%s' does not resolve on network %s although the service is attached to it (%s): the "
                "embedded DNS (127.0.0.11) of the probe container does not know it yet; retry, or check "
                "the dockerd log on %s." % (name, network["name"], dns["name"].get("error") or "no address", node))

    # VIP (and the name, which resolves to it) silent while tasks answer: no IPVS.
    silent_lb = []
    for group in (GROUP_VIP, GROUP_NAME):
        for result in by_group.get(group, []):
            if group == GROUP_NAME and endpoint_mode != MODE_VIP:
                continue
            if not result["responders"] and result["failures"]:
                silent_lb.append(result)
    if silent_lb and answering_tasks:
        what = "; ".join("%s (%s)" % (r["target"], describe_failures(r)) for r in silent_lb)
        if ipvs_present is False:
            diagnoses.append(
                "The VIP is silent while task addresses answer: %s. IPVS missing in the kernel of node %s "
                "(%s absent): swarm VIP load balancing and the routing mesh need IPVS; use endpoint mode dnsrr "
                "or a kernel with IP_VS." % (what, node, _join((context.get("ipvs") or {}).get("checked") or ["/proc/net/ip_vs"])))
        else:
            diagnoses.append(
                "The VIP is silent while task addresses answer: %s. IPVS is present on node %s, so check the "
                "service's load balancer on that node (dockerd log, iptables mangle rules in the container)." % (what, node))

    # Published port silent while tasks answer: the routing mesh needs IPVS too.
    published = by_group.get(GROUP_PUBLISHED, [])
    silent_published = [r for r in published if not r["responders"] and r["failures"]]
    if silent_published and answering_tasks:
        what = "; ".join("%s (%s)" % (r["target"], describe_failures(r)) for r in silent_published)
        if ipvs_present is False:
            diagnoses.append(
                "The published port is silent while task addresses answer: %s. The ingress routing mesh needs "
                "IPVS, missing in the kernel of node %s (the probing node; other nodes not checked)." % (what, node))
        else:
            diagnoses.append(
                "The published port is silent while task addresses answer: %s. Check the routing mesh on those "
                "nodes (ingress network peers, IPVS, a firewall on the published port)." % what)

    # Tasks on some nodes time out while others answer: VXLAN (4789/udp) blocked.
    nodes = {}
    for result in tasks:
        entry = nodes.setdefault(result["node"] or "?", {"local": False, "answering": False, "timeouts": 0, "failures": 0})
        entry["local"] = entry["local"] or bool(result["local"])
        entry["answering"] = entry["answering"] or bool(result["responders"])
        entry["failures"] += len(result["failures"])
        entry["timeouts"] += failure_counts(result["failures"]).get(REASON_TIMEOUT, 0)
    silent_remote = sorted(n for n, e in nodes.items() if not e["answering"] and not e["local"] and e["timeouts"])
    answering = sorted(n for n, e in nodes.items() if e["answering"])
    if silent_remote:
        if answering and all(nodes[n]["local"] for n in answering):
            diagnoses.append(
                "Only tasks on node %s (the probing node) answer; tasks on %s time out: the data path port "
                "4789/udp (VXLAN) is blocked between %s and %s." % (node, _join(silent_remote), node, _join(silent_remote)))
        elif answering:
            diagnoses.append(
                "Tasks on %s time out while tasks on %s answer: the data path port 4789/udp (VXLAN) is blocked "
                "between the probing node %s and %s." % (_join(silent_remote), _join(answering), node, _join(silent_remote)))
        else:
            diagnoses.append(
                "No task answers and every task is on another node (%s) than the probing node %s: the data path "
                "port 4789/udp (VXLAN) is likely blocked between %s and %s." % (_join(silent_remote), node, node, _join(silent_remote)))

    # A task that refuses the connection is reachable but nothing listens there.
    for result in tasks:
        if not result["responders"] and failure_counts(result["failures"]).get(REASON_REFUSED):
            diagnoses.append(
                "%s refuses connections on port %d: the network path works but nothing listens on that port in "
                "the task (wrong port option, or the app is not up yet)." % (result["target"], port))

    if name and dns["name"]["addresses"] and not context.get("tasks"):
        diagnoses.append("The service %s has no running task with an address on network %s: no task address "
                         "was probed." % (name, network["name"]))
    if context.get("node_addresses") and not service.get("published_port"):
        diagnoses.append("node_addresses were given but the service publishes no port for target port %d: "
                         "the published port was not probed." % port)
    return diagnoses


def analyse(context, raw):
    """The module's result (without changed/msg) from the context and raw probe output."""
    targets = build_targets(context)
    raw_targets = raw.get("targets") or []
    if len(raw_targets) != len(targets):
        raise ProbeError("the probe returned %d target results for %d targets" % (len(raw_targets), len(targets)))
    results = []
    for target, observed in zip(targets, raw_targets):
        answers = (observed or {}).get("answers") or []
        responders, failures, latency = summarize_answers(answers)
        result = dict(target)
        result.update(requests=len(answers), answered=len(answers) - len(failures),
                      responders=responders, failures=failures, latency_ms=latency,
                      resolved_to=address_counts(answers) if target["group"] == GROUP_NAME else None)
        results.append(result)

    dns_raw = raw.get("dns") or {}
    dns = {}
    for key in ("name", "tasks"):
        entry = dns_raw.get(key) or {}
        dns[key] = {"query": entry.get("query"), "addresses": list(entry.get("addresses") or []), "error": entry.get("error")}
    task_addresses = [t["address"] for t in context.get("tasks") or [] if t.get("address")]
    mode = infer_endpoint_mode(dns["name"]["addresses"], task_addresses, context["service"].get("vip"))
    return {
        "dns": {"name": dns["name"]["addresses"], "tasks": dns["tasks"]["addresses"],
                "queries": {"name": dns["name"]["query"], "tasks": dns["tasks"]["query"]},
                "errors": {"name": dns["name"]["error"], "tasks": dns["tasks"]["error"]}},
        "endpoint_mode": mode,
        "targets": results,
        "diagnoses": diagnose(context, dns, results, mode),
    }


def check_expectations(result, context, expect_resolvable=None, expect_endpoint_mode=None,
                       min_responders=None, max_failures=None):
    """Failed assertions as 'expected ..., saw ...' sentences (empty when all hold)."""
    failed = []
    name = context["service"]["name"]
    network = context["network"]["name"]
    addresses = result["dns"]["name"]
    if expect_resolvable is True and not addresses:
        failed.append("expected the name '%s' to resolve on network %s, saw no address (%s)"
                      % (name, network, result["dns"]["errors"]["name"] or "no answer"))
    elif expect_resolvable is False and addresses:
        failed.append("expected the name '%s' not to resolve on network %s, saw %s" % (name, network, _join(addresses)))
    if expect_endpoint_mode and result["endpoint_mode"] != expect_endpoint_mode:
        failed.append("expected endpoint mode %s, saw %s ('%s' -> %s; task addresses %s)"
                      % (expect_endpoint_mode, result["endpoint_mode"], name, _join(addresses),
                         _join(t["address"] for t in context.get("tasks") or [] if t.get("address"))))
    if min_responders is not None:
        for target in result["targets"]:
            if target["group"] in RESPONDER_GROUPS and len(target["responders"]) < min_responders:
                failed.append("expected at least %d distinct responders via %s, saw %d (%s)"
                              % (min_responders, target["target"], len(target["responders"]), describe_failures(target)))
    if max_failures is not None:
        total = sum(len(t["failures"]) for t in result["targets"])
        if total > max_failures:
            where = "; ".join("%s: %s" % (t["target"], describe_failures(t)) for t in result["targets"] if t["failures"])
            failed.append("expected at most %d failed requests, saw %d (%s)" % (max_failures, total, where))
    return failed


def failure_message(failed, diagnoses):
    """One message for fail_json: what was expected, what was seen, the likely cause."""
    cause = " ".join(diagnoses) if diagnoses else "no cause identified from the probe; see targets and dns."
    return "Probe assertion failed: %s. Likely cause: %s" % ("; ".join(failed), cause)

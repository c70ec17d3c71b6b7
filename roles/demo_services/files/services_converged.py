"""Exit 0 when every demo service (label swarmnet.demo) runs all its replicas
with its current spec, else print what is missing and exit 1.

`docker service ls` counts an old task as running for a moment after an
update; comparing each task's spec with the service's avoids that race.
"""

import sys

import docker

client = docker.from_env()
waiting = []
for service in client.services.list(filters={"label": "swarmnet.demo"}):
    spec = service.attrs["Spec"]
    template = spec["TaskTemplate"]
    wanted_networks = [n["Target"] for n in template.get("Networks") or []]
    replicas = spec.get("Mode", {}).get("Replicated", {}).get("Replicas", 0)
    current = 0
    for task in service.tasks(filters={"desired-state": "running"}):
        task_networks = [n["Target"] for n in task["Spec"].get("Networks") or []]
        if (task["Status"]["State"] == "running" and task_networks == wanted_networks
                and task["Spec"].get("ContainerSpec") == template.get("ContainerSpec")):
            current += 1
    if current != replicas:
        # Why replicas are missing is in the failed tasks' error (`docker service ps`), e.g. a node
        # that rejects every task of the service: name the latest one, with its node.
        failed = [t for t in service.tasks() if t["Status"].get("Err")]
        why = ""
        if failed:
            last = max(failed, key=lambda t: t["Status"].get("Timestamp", ""))
            node_name = last.get("NodeID", "?")
            try:
                node_name = client.nodes.get(node_name).attrs["Description"]["Hostname"]
            except docker.errors.APIError:
                pass
            why = " (last task error, on %s: %s)" % (node_name, last["Status"]["Err"])
        waiting.append("%s %d/%d%s" % (spec["Name"], current, replicas, why))
if waiting:
    print("waiting for: " + ", ".join(waiting))
    sys.exit(1)
print("converged")

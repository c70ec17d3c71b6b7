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
        waiting.append("%s %d/%d" % (spec["Name"], current, replicas))
if waiting:
    print("waiting for: " + ", ".join(waiting))
    sys.exit(1)
print("converged")

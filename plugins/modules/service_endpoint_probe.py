#!/usr/bin/python
# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: service_endpoint_probe
short_description: Measure a swarm service from inside an overlay network
version_added: 0.1.0
description:
  - Probes a Docker swarm service the way a client on an overlay network sees it, and reports
    what the embedded DNS answers, which endpoint mode that implies, and who answers HTTP requests
    sent by name, by the virtual IP, by each task address and, optionally, by the published port
    on given node addresses.
  - The probe runs inside the network, either in a short-lived container started from O(probe_image)
    on an attachable network, or by exec in a running task container on this node (when
    O(exec_in_service) is set, when the network is not attachable, or when O(probe_image) is not given).
    In both cases a small Python script runs with C(python3 -c), so the image used needs C(python3).
  - Names are resolved with C(getaddrinfo) inside the container, that is by Docker's embedded DNS
    (127.0.0.11). Each request by name asks that nameserver again and goes to the first address it
    sends, as a simple client does (C(getaddrinfo) alone would re-sort the addresses and hide the dnsrr
    rotation). Answers are grouped by responder, the first line of each response body (the demo
    C(hello) app answers with its hostname and addresses).
  - Diagnoses name the likely cause of what does not answer. A VIP that is silent while task
    addresses answer means IPVS is missing in the kernel (the module checks C(/proc/net/ip_vs) and
    C(/sys/module/ip_vs) on the node it runs on). Tasks on other nodes that time out while tasks on the
    probing node answer mean the data path port 4789/udp (VXLAN) is blocked between the nodes. A name
    that does not resolve usually means the service is not attached to the network (for example only
    to C(ingress), which gives no service discovery).
  - The assertion options O(expect_resolvable), O(expect_endpoint_mode), O(min_responders) and
    O(max_failures) make the module fail with what was expected, what was seen, and the likely cause.
  - Run it on a swarm manager, which knows the service, its VIP and all its tasks. On a worker the
    module falls back to the network's service table (verbose network inspect), which exists only when
    a container on that worker uses the network.
  - The module changes nothing; the probe container is removed even when the probe fails.
author:
  - swarmnet developers (@swarmnet)
extends_documentation_fragment:
  - swarmnet.overlay.docker
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: The probe only reads (its container is removed again), so it runs in check mode too.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
options:
  service:
    description:
      - Name of the swarm service to probe (also the DNS name that is looked up).
    type: str
    required: true
    aliases: [name]
  network:
    description:
      - Name or ID of the overlay network to probe from.
    type: str
    required: true
  port:
    description:
      - Port the service's tasks listen on (the target port).
    type: int
    default: 8080
  path:
    description:
      - URL path requested from every target.
    type: str
    default: /
  requests:
    description:
      - Number of HTTP requests sent to each target, one after the other, each on a new connection.
      - The embedded DNS shuffles the addresses of a dnsrr service, so requests by name reach replicas at
        random; with O(min_responders) send about four times as many requests as replicas.
    type: int
    default: 10
  request_timeout:
    description:
      - Seconds to wait for each HTTP request (connect and answer).
      - The Docker API O(timeout) is raised to cover the whole probe when it is shorter.
    type: float
    default: 2.0
  probe_image:
    description:
      - An image present on this node that has C(python3), used to start the probe container on O(network).
      - Nothing is pulled. Needs an attachable network; otherwise the module probes by exec.
    type: str
  exec_in_service:
    description:
      - Probe by exec in a running task container of this service on this node instead of starting a
        container. The task must be attached to O(network) and its image must have C(python3).
      - Defaults to the probed service itself when no container can be started.
    type: str
  node_addresses:
    description:
      - Node addresses whose published port (routing mesh) is probed as well.
    type: list
    elements: str
    default: []
  published_port:
    description:
      - Published port to use with O(node_addresses). Defaults to the port the service publishes for O(port).
    type: int
  expect_resolvable:
    description:
      - Fail unless the service name resolves (V(true)) or does not resolve (V(false)) on O(network).
    type: bool
  expect_endpoint_mode:
    description:
      - Fail unless the endpoint mode inferred from DNS is this one.
    type: str
    choices: [vip, dnsrr]
  min_responders:
    description:
      - Fail unless requests by name and by VIP each got answers from at least this many distinct responders.
    type: int
  max_failures:
    description:
      - Fail when more requests than this failed, over all targets.
    type: int
notes:
  - Needs root on the node (Docker socket, and the IPVS check reads the node's own C(/proc)).
  - A VIP or routing mesh that is silent because the kernel lacks IPVS is reported, never hidden.
"""

EXAMPLES = r"""
- name: Probe a dnsrr service from a throw-away container and require two replicas to answer
  swarmnet.overlay.service_endpoint_probe:
    service: helloworld
    network: helloTest
    probe_image: swarmnet-demo:latest
    expect_endpoint_mode: dnsrr
    min_responders: 2
    max_failures: 0

- name: Probe a VIP service by exec in a gethello task, and the routing mesh on two nodes
  swarmnet.overlay.service_endpoint_probe:
    service: helloworld
    network: helloTest
    exec_in_service: gethello
    requests: 4
    request_timeout: 2
    node_addresses: [192.168.56.11, 192.168.56.12]
  register: probe

- name: Show the diagnoses
  ansible.builtin.debug:
    var: probe.diagnoses

- name: Prove that a service only on ingress gets no discovery by name
  swarmnet.overlay.service_endpoint_probe:
    service: helloworld
    network: helloTest
    probe_image: swarmnet-demo:latest
    expect_resolvable: false
"""

RETURN = r"""
method:
  description: How the probe ran, V(container) (new container on the network) or V(exec) (in a task container).
  returned: success
  type: str
  sample: container
probe_location:
  description: The image of the probe container, or the name of the container the probe ran in by exec.
  returned: success
  type: str
  sample: swarmnet-demo:latest
probe_node:
  description: The node the probe ran on.
  returned: success
  type: dict
  contains:
    id:
      description: Swarm node ID (on a worker, its address).
      type: str
      returned: success
    name:
      description: Host name of the node.
      type: str
      returned: success
  sample: {"id": "x2ab7kq0b0f1ffeyq3qzg1w9c", "name": "node1"}
network:
  description: The network probed from.
  returned: success
  type: dict
  contains:
    id:
      description: Network ID.
      type: str
      returned: success
    name:
      description: Network name.
      type: str
      returned: success
    attachable:
      description: Whether standalone containers may join the network.
      type: bool
      returned: success
    ingress:
      description: Whether this is the swarm ingress network.
      type: bool
      returned: success
  sample: {"id": "q7m...", "name": "helloTest", "attachable": true, "ingress": false}
service:
  description: What the engine says about the service.
  returned: success
  type: dict
  contains:
    id:
      description: Service ID (null on a worker).
      type: str
      returned: success
    name:
      description: Service name.
      type: str
      returned: success
    endpoint_mode:
      description: Configured endpoint mode, V(vip) or V(dnsrr) (null when unknown on a worker).
      type: str
      returned: success
    vip:
      description: Virtual IP of the service on the network, null when it has none there.
      type: str
      returned: success
    networks:
      description: Names of the networks the service is attached to (null when unknown on a worker).
      type: list
      elements: str
      returned: success
    published_port:
      description: Published port probed on O(node_addresses), null when none.
      type: int
      returned: success
  sample: {"id": "k3j...", "name": "helloworld", "endpoint_mode": "vip", "vip": "10.77.0.2",
           "networks": ["helloTest"], "published_port": null}
tasks:
  description: Running tasks of the service, with their address on the network.
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: Task ID (task name on a worker).
      type: str
      returned: success
    node_id:
      description: Node the task runs on (ID, or address on a worker).
      type: str
      returned: success
    node:
      description: Host name of the node the task runs on.
      type: str
      returned: success
    address:
      description: The task's address on the network, null when it is not attached to it.
      type: str
      returned: success
  sample: [{"id": "t1...", "node_id": "x2ab...", "node": "node1", "address": "10.77.0.3"}]
ipvs:
  description: Whether the kernel of the probing node has IPVS (needed by VIPs and the routing mesh).
  returned: success
  type: dict
  contains:
    present:
      description: True when one of the checked paths exists.
      type: bool
      returned: success
    checked:
      description: The paths looked at.
      type: list
      elements: str
      returned: success
  sample: {"present": false, "checked": ["/proc/net/ip_vs", "/sys/module/ip_vs"]}
dns:
  description: What the embedded DNS answered inside the network.
  returned: success
  type: dict
  contains:
    name:
      description: Addresses of the service name (sorted).
      type: list
      elements: str
      returned: success
    tasks:
      description: Addresses of C(tasks.<service>) (sorted).
      type: list
      elements: str
      returned: success
    queries:
      description: The names looked up, keys C(name) and C(tasks).
      type: dict
      returned: success
    errors:
      description: Resolver errors, keys C(name) and C(tasks), null when the name resolved.
      type: dict
      returned: success
  sample: {"name": ["10.77.0.2"], "tasks": ["10.77.0.3", "10.77.0.4"],
           "queries": {"name": "helloworld", "tasks": "tasks.helloworld"}, "errors": {"name": null, "tasks": null}}
endpoint_mode:
  description:
    - Endpoint mode inferred from DNS. V(vip) when the name resolves to one address that is no task's,
      V(dnsrr) when it resolves to task addresses, V(unresolvable) when it does not resolve, V(unknown) otherwise.
  returned: success
  type: str
  sample: dnsrr
targets:
  description: One entry per probed target, in the order name, vip, tasks, published ports.
  returned: success
  type: list
  elements: dict
  contains:
    group:
      description: V(name), V(vip), V(task) or V(published).
      type: str
      returned: success
    target:
      description: Human label, for example C(task 10.77.0.3 on node2).
      type: str
      returned: success
    address:
      description: Host part of the URL (name or address).
      type: str
      returned: success
    node:
      description: Node of the task, for task targets; null otherwise.
      type: str
      returned: success
    local:
      description: For task targets, whether the task runs on the probing node; null otherwise.
      type: bool
      returned: success
    url:
      description: URL requested.
      type: str
      returned: success
    requests:
      description: Number of requests sent.
      type: int
      returned: success
    answered:
      description: Number of requests that got an HTTP 2xx answer.
      type: int
      returned: success
    responders:
      description: First line of the answer body mapped to how many requests got it.
      type: dict
      returned: success
    failures:
      description: One entry per failed request, with C(request) (1-based) and C(reason)
        (for example C(timeout), C(connection refused), C(unresolvable name), C(http status 502)).
      type: list
      elements: dict
      returned: success
    latency_ms:
      description: C(min), C(median) and C(max) of the answered requests in milliseconds; null when none answered.
      type: dict
      returned: success
    resolved_to:
      description:
        - For the name target, the address each request went to (the first address the embedded DNS sent
          for that request) mapped to the number of requests; null for other targets, or when the name was
          resolved by the system resolver instead.
      type: dict
      returned: success
  sample:
    - group: task
      target: task 10.77.0.3 on node2
      address: 10.77.0.3
      node: node2
      local: false
      url: http://10.77.0.3:8080/
      requests: 6
      answered: 6
      responders: {"hello from 3f2a9c1d7e0b 10.77.0.3 172.18.0.3": 6}
      failures: []
      latency_ms: {"min": 1.1, "median": 1.4, "max": 2.0}
diagnoses:
  description: Likely causes of what did not answer, one sentence each; empty when all answered.
  returned: always
  type: list
  elements: str
  sample:
    - "The VIP is silent while task addresses answer: vip 10.77.0.2 (6 of 6 failed: timeout x6). IPVS missing in the kernel of node node1 ..."
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.swarmnet.overlay.plugins.module_utils.docker_client import (
    DockerException,
    RequestException,
    api_error_text,
    docker_common_args,
    get_docker_client,
)
from ansible_collections.swarmnet.overlay.plugins.module_utils.endpoint_probe import (
    ProbeError,
    analyse,
    build_spec,
    check_expectations,
    failure_message,
)
from ansible_collections.swarmnet.overlay.plugins.module_utils.probe_runner import (
    gather_context,
    probe_budget,
    run_probe,
)


def main():
    module = AnsibleModule(
        argument_spec=docker_common_args(
            service=dict(type="str", required=True, aliases=["name"]),
            network=dict(type="str", required=True),
            port=dict(type="int", default=8080),
            path=dict(type="str", default="/"),
            requests=dict(type="int", default=10),
            request_timeout=dict(type="float", default=2.0),
            probe_image=dict(type="str"),
            exec_in_service=dict(type="str"),
            node_addresses=dict(type="list", elements="str", default=[]),
            published_port=dict(type="int"),
            expect_resolvable=dict(type="bool"),
            expect_endpoint_mode=dict(type="str", choices=["vip", "dnsrr"]),
            min_responders=dict(type="int"),
            max_failures=dict(type="int"),
        ),
        supports_check_mode=True,  # read-only: it probes in check mode too
    )
    params = module.params
    if params["requests"] < 1:
        module.fail_json(msg="requests must be at least 1")
    if params["request_timeout"] <= 0:
        module.fail_json(msg="request_timeout must be positive")

    budget = probe_budget(params["requests"], params["request_timeout"])
    # An exec or a container wait reads nothing until the probe ends: the API
    # read timeout must outlast the probe.
    params["timeout"] = max(params["timeout"], budget + 15)
    client = get_docker_client(module)

    result = dict(changed=False, diagnoses=[])
    try:
        context = gather_context(client, params["service"], params["network"], params["port"], params["path"],
                                 params["node_addresses"], params["published_port"])
        result.update(probe_node=context["probe_node"], network=context["network"], service=context["service"],
                      tasks=context["tasks"], ipvs=context["ipvs"])
        spec = build_spec(context, params["requests"], params["request_timeout"])
        method, where, raw = run_probe(client, context, spec, budget, params["probe_image"], params["exec_in_service"])
        result.update(method=method, probe_location=where)
        result.update(analyse(context, raw))
    except ProbeError as exc:
        module.fail_json(msg="Probe of service %s on network %s failed: %s" % (params["service"], params["network"], exc), **result)
    except (DockerException, RequestException) as exc:
        module.fail_json(msg="Docker API error while probing %s: %s" % (params["service"], api_error_text(exc)), **result)

    failed = check_expectations(result, context, params["expect_resolvable"], params["expect_endpoint_mode"],
                                params["min_responders"], params["max_failures"])
    if failed:
        module.fail_json(msg=failure_message(failed, result["diagnoses"]), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

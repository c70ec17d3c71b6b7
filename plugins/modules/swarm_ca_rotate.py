#!/usr/bin/python
# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: swarm_ca_rotate
short_description: Rotate a Docker swarm's root CA and wait until every node has a new certificate
description:
  - Does what C(docker swarm ca --rotate) does, from a manager of the swarm. Without O(signing_ca_cert) the swarm makes
    a new root CA itself; with O(signing_ca_cert) and O(signing_ca_key) it switches to the operator's CA.
  - Then waits until the rotation is over, that is until the swarm trusts only the new root and every node is
    Ready with TLS status Ready in C(docker node ls) - its certificate was issued by the new CA B(and) it reports the
    new root as its trust root - and returns how many nodes were reissued and how long it took.
  - The swarm ends the rotation (C(RootRotationInProgress) false) as soon as every node has a new certificate; each
    node learns the new trust root only after that, and until it has, C(docker node ls) shows it as
    C(Needs Rotation). The wait covers that second step too.
  - A node that is not ready (down) could not take its new certificate, and the rotation would never end. The task then
    fails before anything is changed and names the nodes.
  - When a rotation is already in progress (an earlier run timed out) no new one is started; the task waits for it.
  - The swarm spec is updated read-modify-write, so autolock and the other swarm settings are kept.
version_added: 0.1.0
author:
  - swarmnet developers (@swarmnet)
extends_documentation_fragment:
  - swarmnet.overlay.docker
options:
  signing_ca_cert:
    description:
      - The new root CA certificate, PEM text (not a path). With it, the rotation is skipped when the swarm's root CA
        already is this certificate.
    type: str
  signing_ca_key:
    description:
      - The private key of O(signing_ca_cert), PEM text (not a path). Never logged nor returned.
    type: str
  wait_timeout:
    description:
      - Seconds to wait for every node to have a certificate from the new CA and to trust the new root.
    type: int
    default: 300
notes:
  - "Without O(signing_ca_cert) every run rotates: it is an action, like C(docker swarm ca --rotate)."
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: The down-node check runs; nothing is rotated.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: The diff shows the root CA's fingerprint before and after.
"""

EXAMPLES = r"""
- name: Rotate the swarm's root CA (a new one, made by the swarm)
  swarmnet.overlay.swarm_ca_rotate:
  register: ca_rotation

- name: Switch to our own root CA
  swarmnet.overlay.swarm_ca_rotate:
    signing_ca_cert: "{{ lookup('ansible.builtin.file', 'pki/swarm-root.crt') }}"
    signing_ca_key: "{{ lookup('ansible.builtin.unvault', 'pki/swarm-root.key') }}"
"""

RETURN = r"""
nodes_total:
  description: How many nodes the swarm has.
  returned: always
  type: int
  sample: 5
nodes_reissued:
  description: How many nodes have TLS status Ready at the end (certificate from the new CA, new trust root; in check
    mode, how many would).
  returned: always
  type: int
  sample: 5
reissued:
  description: Hostnames of the nodes with TLS status Ready (certificate from the new CA, new trust root).
  returned: when a rotation ran
  type: list
  elements: str
seconds:
  description: How long the wait for the nodes' new certificates took.
  returned: always
  type: float
  sample: 14.2
root_ca_fingerprint:
  description: First 16 hex digits of the SHA-256 of the swarm's root CA certificate (PEM) at the end.
  returned: always
  type: str
reason:
  description: What was decided and why.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.swarmnet.overlay.plugins.module_utils.docker_client import docker_common_args, get_docker_client
from ansible_collections.swarmnet.overlay.plugins.module_utils.swarm_security_engine import exit_with, rotate_ca


def argument_spec():
    return docker_common_args(
        signing_ca_cert=dict(type="str"),
        signing_ca_key=dict(type="str", no_log=True),
        wait_timeout=dict(type="int", default=300),
    )


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        required_together=[("signing_ca_cert", "signing_ca_key")],
        supports_check_mode=True,
    )
    cert = module.params["signing_ca_cert"]
    if cert is not None and "-----BEGIN CERTIFICATE-----" not in cert:
        module.fail_json(msg="signing_ca_cert must be the PEM text of a certificate (-----BEGIN CERTIFICATE-----...), "
                             "not a path: use lookup('ansible.builtin.file', PATH). Nothing was changed")
    key = module.params["signing_ca_key"]
    if key is not None and "PRIVATE KEY-----" not in key:
        module.fail_json(msg="signing_ca_key must be the PEM text of a private key (-----BEGIN ... PRIVATE KEY-----), "
                             "not a path. Nothing was changed")
    client = get_docker_client(module)
    exit_with(module, rotate_ca, client, cert, key, module.params["wait_timeout"])


if __name__ == "__main__":
    main()

#!/usr/bin/python
# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: swarm_unlock
short_description: Unlock the swarm manager this task runs on, when autolock left it locked
description:
  - With autolock on, a manager whose engine restarts comes back in state C(locked) and does not rejoin raft
    until it is given the swarm's unlock key (C(docker swarm unlock)). This module does that for the node it runs on.
  - A node that is not locked (an active manager or worker, or a node in no swarm) is left alone.
  - After the unlock it waits until the node serves as a manager again.
  - A wrong key fails for this node with a clear message; the node stays locked. The key is never shown,
    neither in messages nor in returned values; engine error texts are scrubbed.
version_added: 0.1.0
author:
  - swarmnet developers (@swarmnet)
extends_documentation_fragment:
  - swarmnet.overlay.docker
options:
  unlock_key:
    description:
      - The swarm's unlock key, as printed by C(docker swarm unlock-key -q) on an unlocked manager (C(SWMKEY-1-...)).
      - Never logged nor returned.
    type: str
    required: true
  settle_timeout:
    description:
      - Seconds to wait, after the unlock, for the node to be an active manager again.
    type: int
    default: 60
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Reports whether the node is locked and would be unlocked; the key is not tried.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: The diff shows the node's swarm state before and after.
"""

EXAMPLES = r"""
- name: Unlock this manager with the kept key
  swarmnet.overlay.swarm_unlock:
    unlock_key: "{{ lookup('ansible.builtin.unvault', '/srv/secrets/swarm-unlock.key') | trim }}"
  no_log: true
"""

RETURN = r"""
state:
  description: The node's swarm state after the task (in check mode, before it); C(active) after an unlock.
  returned: always
  type: str
  sample: active
reason:
  description: Why the node was unlocked or left alone.
  returned: always
  type: str
  sample: "not locked: this node is an active manager"
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.swarmnet.overlay.plugins.module_utils.docker_client import docker_common_args, get_docker_client
from ansible_collections.swarmnet.overlay.plugins.module_utils.swarm_security import check_unlock_key
from ansible_collections.swarmnet.overlay.plugins.module_utils.swarm_security_engine import exit_with, unlock


def argument_spec():
    return docker_common_args(
        unlock_key=dict(type="str", required=True, no_log=True),
        settle_timeout=dict(type="int", default=60),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    try:
        key = check_unlock_key(module.params["unlock_key"])
    except ValueError as exc:
        module.fail_json(msg="%s. Nothing was changed" % exc)
    client = get_docker_client(module)
    node_name = (client.info().get("Name") or "this node")
    exit_with(module, unlock, client, key, node_name, module.params["settle_timeout"])


if __name__ == "__main__":
    main()

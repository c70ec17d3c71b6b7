# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Options shared by every module that talks to a node's Docker engine."""

    DOCUMENTATION = r"""
options:
  docker_host:
    description:
      - The Docker engine API to talk to, on the node the task runs on.
    type: str
    default: unix:///var/run/docker.sock
    aliases: [docker_url]
  timeout:
    description:
      - Seconds to wait for an answer from the Docker engine API.
    type: int
    default: 60
requirements:
  - docker (the Docker SDK for Python) on the managed node
"""

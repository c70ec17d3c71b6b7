# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark helper: count the module executions each host gets in a run (used by bench/compare.py)."""

DOCUMENTATION = r"""
name: remote_executions
type: aggregate
short_description: Count module executions per host, into the JSON file named by SWARMNET_BENCH_COUNT_FILE
description:
  - Counts, per host, every task result and loop item that was not skipped and whose action runs on the host
    (actions that run on the controller only, such as set_fact, assert, debug and includes, are not counted).
  - Writes a JSON object host -> count at the end of the play run.
requirements:
  - environment variable SWARMNET_BENCH_COUNT_FILE
"""

import json
import os

from ansible.plugins.callback import CallbackBase

# Actions that Ansible carries out on the controller: no execution on the host.
CONTROLLER_ACTIONS = frozenset(
    "ansible.builtin.%s" % name for name in (
        "set_fact", "assert", "debug", "fail", "meta", "add_host", "group_by", "include_tasks", "import_tasks",
        "include_role", "import_role", "include_vars", "validate_argument_spec", "pause",
    )
) | frozenset(("set_fact", "assert", "debug", "fail", "meta", "add_host", "group_by", "include_tasks",
               "import_tasks", "include_role", "import_role", "include_vars", "validate_argument_spec", "pause"))


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "remote_executions"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self.counts = {}

    def _count(self, result):
        if result._task.action in CONTROLLER_ACTIONS:
            return
        items = result._result.get("results")
        if isinstance(items, list):
            ran = sum(1 for item in items if not item.get("skipped"))
        else:
            ran = 0 if result._result.get("skipped") else 1
        host = result._host.get_name()
        self.counts[host] = self.counts.get(host, 0) + ran

    def v2_runner_on_ok(self, result):
        self._count(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._count(result)

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get("SWARMNET_BENCH_COUNT_FILE")
        if path:
            with open(path, "w") as handle:
                json.dump(self.counts, handle)

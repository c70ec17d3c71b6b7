# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runbooks honour swarm_managers_group / swarm_workers_group (given as extra vars).

A play's hosts: line is templated before any host is known, so only extra
vars reach it; the roles read the same two variables.
"""

import glob
import os
import re
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RUNBOOKS = sorted(glob.glob(os.path.join(ROOT, "playbooks", "*.yml")))

INVENTORY = """
all:
  children:
    ops_managers: {hosts: {m1: {}, m2: {}}}
    ops_workers: {hosts: {w1: {}}}
    swarm_managers: {hosts: {not_this_one: {}}}
    swarm_workers: {hosts: {nor_this_one: {}}}
"""


def test_no_runbook_names_the_default_groups_directly():
    for path in RUNBOOKS + sorted(glob.glob(os.path.join(ROOT, "playbooks", "*", "*.yml"))):
        with open(path) as handle:
            for number, line in enumerate(handle, 1):
                code = line.split("#", 1)[0]
                bare = re.sub(r"default\('swarm_(managers|workers)'\)", "", code)
                assert not re.search(r"\bswarm_(managers|workers)\b(?!_group)", bare), "%s:%d: %s" % (path, number, line.strip())


def test_plays_target_the_groups_named_by_the_variables(tmp_path):
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(INVENTORY)
    ansible_playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    out = subprocess.run([ansible_playbook, "-i", str(inventory), "--list-hosts",
                          "-e", "swarm_managers_group=ops_managers", "-e", "swarm_workers_group=ops_workers"] + RUNBOOKS,
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False,
                         env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections")))
    assert out.returncode == 0, out.stdout
    assert "not_this_one" not in out.stdout and "nor_this_one" not in out.stdout, out.stdout
    patterns = re.findall(r"pattern: \[(.*)\]", out.stdout)
    assert len(patterns) >= len(RUNBOOKS), out.stdout
    assert all("ops_managers" in p or p.strip("'") in ("localhost",) for p in patterns), patterns

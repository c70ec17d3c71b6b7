"""Benchmark: how long site.yml takes to form a swarm of N lab nodes.

For each N it brings up a fresh lab (1 manager, N-1 workers), times a fresh
converge of site.yml and a second, idempotent run, and prints one JSON line:

    {"nodes": N, "fresh_s": ..., "join_workers_s": ..., "rerun_s": ..., "rerun_changed": ..., "lab_peak_memory_mib": ...}

join_workers_s is the time of the task that joins every worker at once (from
ansible.posix.profile_tasks): it shows what joining in parallel costs, apart
from the per-node checks, which the 2-core controller runs a few at a time.

Usage (after scripts/setup.sh):  .venv/bin/python bench/site_converge.py [3 6 12]
The lab it uses is named swarmnet-bench (its own network, 192.168.216.0/24)
and is removed afterwards. Numbers, not assertions: read them, compare them.
"""

import json
import os
import re
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.join(REPO, ".venv", "bin")
LAB = "swarmnet-bench"
ENV = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".collections"),
           ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks", ANSIBLE_NOCOLOR="1")


def lab(*args):
    out = subprocess.run([os.path.join(VENV_BIN, "python"), os.path.join(REPO, "lab", "lab.py")] + list(args)
                         + ["--name", LAB], check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return out.stdout.strip()


def task_seconds(output, name):
    """Seconds profile_tasks reports for the task whose name contains `name`, or None."""
    found = re.search(r"%s[^\n]*?-+\s+([\d.]+)s" % re.escape(name), output)
    return float(found.group(1)) if found else None


def converge(inventory):
    """Run site.yml; return (seconds, total tasks changed across hosts, output)."""
    start = time.monotonic()
    out = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", inventory, "site.yml"],
                         cwd=REPO, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    seconds = time.monotonic() - start
    if out.returncode != 0:
        sys.exit("site.yml failed:\n" + out.stdout[-4000:])
    changed = sum(int(n) for n in re.findall(r"changed=(\d+)", out.stdout))
    return seconds, changed, out.stdout


def main():
    sizes = [int(n) for n in sys.argv[1:]] or [3, 6, 12]
    for nodes in sizes:
        lab("down")
        inventory = lab("up", "--managers", "1", "--workers", str(nodes - 1), "--subnet", "192.168.216.0/24")
        try:
            fresh_s, fresh_changed, fresh_out = converge(inventory)
            rerun_s, rerun_changed = converge(inventory)[:2]
            peak = json.loads(lab("status"))["peak_memory_bytes"]
        finally:
            lab("down")
        print(json.dumps({"nodes": nodes, "fresh_s": round(fresh_s, 1), "fresh_changed": fresh_changed,
                          "join_workers_s": task_seconds(fresh_out, "Join the workers, in parallel"),
                          "rerun_s": round(rerun_s, 1), "rerun_changed": rerun_changed,
                          "lab_peak_memory_mib": round(peak / 2 ** 20)}), flush=True)


if __name__ == "__main__":
    main()

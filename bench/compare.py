"""Benchmark: site.yml against the bare community.docker playbook, side by side, on the same fresh lab.

For each size N (1 manager, N-1 workers) it brings up a fresh lab and, in this order:
  1. times `ansible -m ping` on every node (the floor: one module execution per node);
  2. runs bench/community_docker.yml (docker_swarm init, join, one docker_network overlay) fresh;
  3. makes every node leave that swarm (docker swarm leave --force, inside the node), so the nodes are fresh again;
  4. runs site.yml fresh;
  5. runs the playbook once more on the swarm site.yml formed (not counted: it must find nothing to do, and its
     changed count is reported as cd_warmup_changed), then the no-op reruns of both, interleaved: --reruns pairs
     (3 by default), site.yml first in one pair and the playbook first in the next. Both sides' reruns thus see the
     same nodes in the same minutes: on this shared machine the load drifts between blocks of runs (same-code
     12-node rerun ratios of 1.45 and 2.32 an hour apart when each side ran its reruns in a block of its own).
A rerun's time is the median of its runs (*_rerun_runs_s lists them all), and each side's reruns must report
changed=0 (site_rerun_changed, cd_rerun_changed: the most changed in one run).
It prints one JSON line per size:

    {"nodes": N, "ping_s": ..., "site_fresh_s": ..., "site_rerun_s": ..., "site_rerun_changed": 0, "cd_rerun_changed": 0,
     "cd_warmup_changed": 0,
     "site_rerun_runs_s": [...], "cd_rerun_runs_s": [...],
     "cd_fresh_s": ..., "cd_rerun_s": ..., "rerun_ratio": site_rerun_s / cd_rerun_s, "fresh_ratio": ...,
     "site_rerun_marginal_s_per_node": ..., "cd_rerun_marginal_s_per_node": ..., "marginal_ratio": ...,
     "site_fresh_vs_first_size": ..., "cd_fresh_vs_first_size": ...,
     "site_rerun_executions_per_host": {"max": ..., "mean": ..., "first_manager": ...},
     "cd_rerun_executions_per_host": {...}, "lab_peak_memory_mib": ..., "load_before_lab": ..., "load_at_start": {...}}

Each run starts once the host's 1-minute load average is back to at most its CPU count, or to the load
before the lab came up plus one (or after 3 minutes): load_before_lab and load_at_start (per run: ping,
community_docker.yml, site.yml) say what the machine was doing.
The marginal cost per node is (rerun time at this size - at the previous size) / (added nodes);
*_fresh_vs_first_size is this size's fresh run over the first size's. Remote executions are
counted by bench/callback_plugins/remote_executions.py (module executions that reach a host,
loop items included), not estimated.

Usage (after scripts/setup.sh):  .venv/bin/python bench/compare.py [--name NAME] [--subnet CIDR] [--reruns N] [3 12 24]
The lab (default name swarmnet-bench, 192.168.216.0/24) is removed afterwards. Numbers, not assertions:
one run's ratios are what counts; absolute times drift with the machine's load.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(REPO, "bench")
VENV_BIN = os.path.join(REPO, ".venv", "bin")
ENV = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".collections"), ANSIBLE_NOCOLOR="1",
           ANSIBLE_CALLBACK_PLUGINS=os.path.join(BENCH, "callback_plugins"),
           ANSIBLE_CALLBACKS_ENABLED="remote_executions,ansible.posix.profile_tasks")
LOG_DIR = []  # --log-dir: where each run's output is kept (profile_tasks shows where the time goes)
LOADS = {}  # the host's load average at the start of each run, by command, for the current size
BASELINE_LOAD = [0.0]  # the host's load average before the current size's lab came up


def lab(args, *command):
    out = subprocess.run([os.path.join(VENV_BIN, "python"), os.path.join(REPO, "lab", "lab.py")] + list(command)
                         + ["--name", args.name], check=True, stdout=subprocess.PIPE, text=True)
    return out.stdout.strip()


def settle(timeout=180):
    """Wait until the host's 1-minute load average is at most BASELINE_LOAD (its CPU count, or the load before
    the lab came up plus one when the machine was busier than that), or `timeout` seconds; return the load then.
    A fresh lab's nodes boot their systemd for a while after their engines answer: timing a run during that
    measures the boot, and both sides would not see the same machine."""
    limit = max(os.cpu_count(), BASELINE_LOAD[0] + 1)
    deadline = time.monotonic() + timeout
    while os.getloadavg()[0] > limit and time.monotonic() < deadline:
        time.sleep(5)
    return round(os.getloadavg()[0], 1)


def timed(argv, what, label):
    """Run an ansible command from the repository, once the host has settled; return (seconds, output,
    executions per host). The load average at its start is kept in LOADS under label."""
    LOADS.setdefault(label, []).append(settle())
    with tempfile.NamedTemporaryFile(suffix=".json") as counts:
        env = dict(ENV, SWARMNET_BENCH_COUNT_FILE=counts.name)
        start = time.monotonic()
        out = subprocess.run(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             check=False)
        seconds = time.monotonic() - start
        if LOG_DIR:
            with open(os.path.join(LOG_DIR[0], "%02d-%s.log" % (len(os.listdir(LOG_DIR[0])), re.sub(r"\W+", "_", what))), "w") as log:
                log.write(out.stdout)
        if out.returncode != 0:
            sys.exit("%s failed:\n%s" % (what, out.stdout[-4000:]))
        try:
            with open(counts.name) as handle:
                executions = json.load(handle)
        except ValueError:
            executions = {}
    return seconds, out.stdout, executions


def playbook(inventory, path):
    seconds, output, executions = timed([os.path.join(VENV_BIN, "ansible-playbook"), "-i", inventory, path],
                                        "%s-%s" % (os.path.basename(path), inventory.split(os.sep)[-2]),
                                        os.path.basename(path))
    changed = sum(int(n) for n in re.findall(r"changed=(\d+)", output))
    return seconds, changed, executions


def summary(runs):
    """A side's no-op reruns: (median seconds, most changed in one run, the last run's executions, every run's seconds)."""
    seconds = [run[0] for run in runs]
    return statistics.median(seconds), max(run[1] for run in runs), runs[-1][2], [round(value, 1) for value in seconds]


def interleaved_reruns(inventory, sides, count):
    """count pairs of no-op reruns of the playbooks in sides, the order swapped in every other pair: {path: runs}."""
    runs = dict((path, []) for path in sides)
    for pair in range(count):
        for path in (sides if pair % 2 == 0 else list(reversed(sides))):
            runs[path].append(playbook(inventory, path))
    return runs


def per_host(executions, first):
    counts = list(executions.values()) or [0]
    return dict(max=max(counts), mean=round(sum(counts) / float(len(counts)), 1), first_manager=executions.get(first))


def leave_swarm(args, nodes):
    """Make every node leave its swarm, from inside the node: fresh again for the next playbook."""
    for node in nodes:
        subprocess.run(["docker", "exec", node, "docker", "swarm", "leave", "--force"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    for node in nodes:
        subprocess.run(["docker", "exec", node, "docker", "network", "rm", "helloNet"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


def measure(args, nodes):
    lab(args, "down")
    LOADS.clear()
    BASELINE_LOAD[0] = round(os.getloadavg()[0], 1)
    inventory = lab(args, "up", "--managers", "1", "--workers", str(nodes - 1), "--subnet", args.subnet)
    names = [n["name"] for n in json.loads(lab(args, "status"))["nodes"]]
    first = "%s-manager1" % args.name
    try:
        ping_s = timed([os.path.join(VENV_BIN, "ansible"), "-i", inventory, "swarm", "-m", "ansible.builtin.ping"],
                       "ansible -m ping", "ping")[0]
        community_docker = os.path.join(BENCH, "community_docker.yml")
        cd_fresh_s = playbook(inventory, community_docker)[0]
        leave_swarm(args, names)
        site_fresh_s, site_fresh_changed, _exec = playbook(inventory, "site.yml")
        cd_warmup_changed = playbook(inventory, community_docker)[1]
        runs = interleaved_reruns(inventory, ["site.yml", community_docker], args.reruns)
        site_rerun_s, site_rerun_changed, site_exec, site_runs = summary(runs["site.yml"])
        cd_rerun_s, cd_rerun_changed, cd_exec, cd_runs = summary(runs[community_docker])
        peak = json.loads(lab(args, "status"))["peak_memory_bytes"]
    finally:
        if not args.keep:
            lab(args, "down")
    return dict(nodes=nodes, ping_s=round(ping_s, 1),
                site_fresh_s=round(site_fresh_s, 1), site_fresh_changed=site_fresh_changed,
                site_rerun_s=round(site_rerun_s, 1), site_rerun_changed=site_rerun_changed,
                cd_fresh_s=round(cd_fresh_s, 1), cd_rerun_s=round(cd_rerun_s, 1), cd_rerun_changed=cd_rerun_changed,
                cd_warmup_changed=cd_warmup_changed,
                site_rerun_runs_s=site_runs, cd_rerun_runs_s=cd_runs,
                rerun_ratio=round(site_rerun_s / cd_rerun_s, 2), fresh_ratio=round(site_fresh_s / cd_fresh_s, 2),
                site_rerun_executions_per_host=per_host(site_exec, first),
                cd_rerun_executions_per_host=per_host(cd_exec, first),
                lab_peak_memory_mib=round(peak / 2 ** 20), load_before_lab=BASELINE_LOAD[0], load_at_start=dict(LOADS))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[3, 12, 24], help="node counts (1 manager, the rest workers)")
    parser.add_argument("--name", default="swarmnet-bench", help="the lab's name (its nodes and network)")
    parser.add_argument("--subnet", default="192.168.216.0/24", help="the lab's /24")
    parser.add_argument("--keep", action="store_true", help="leave the last lab up")
    parser.add_argument("--reruns", type=int, default=3, help="no-op reruns per side and size (their median counts)")
    parser.add_argument("--log-dir", help="keep every run's output (with profile_tasks timings) in this directory")
    args = parser.parse_args()
    if args.log_dir:
        os.makedirs(args.log_dir, exist_ok=True)
        LOG_DIR.append(args.log_dir)
    previous = first = None
    for nodes in args.sizes:
        line = measure(args, nodes)
        if previous is not None and nodes > previous["nodes"]:
            added = float(nodes - previous["nodes"])
            site_m = (line["site_rerun_s"] - previous["site_rerun_s"]) / added
            cd_m = (line["cd_rerun_s"] - previous["cd_rerun_s"]) / added
            line.update(site_rerun_marginal_s_per_node=round(site_m, 3), cd_rerun_marginal_s_per_node=round(cd_m, 3),
                        marginal_ratio=round(site_m / cd_m, 2) if cd_m > 0 else None)
        if first is not None:
            line.update(site_fresh_vs_first_size=round(line["site_fresh_s"] / first["site_fresh_s"], 2),
                        cd_fresh_vs_first_size=round(line["cd_fresh_s"] / first["cd_fresh_s"], 2))
        print(json.dumps(line), flush=True)
        previous = line
        first = first or line


if __name__ == "__main__":
    main()

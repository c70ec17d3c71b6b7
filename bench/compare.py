"""Benchmark: site.yml against the bare community.docker playbook, side by side, on the same fresh lab.

For each size N (1 manager, N-1 workers) it brings up a fresh lab and, in this order:
  1. times `ansible -m ping` on every node (the floor: one module execution per node);
  2. runs bench/community_docker.yml (docker_swarm init, join, one docker_network overlay) fresh, then again
     --reruns times (3 by default);
  3. makes every node leave that swarm (docker swarm leave --force, inside the node), so the nodes are fresh again;
  4. runs site.yml fresh, then again --reruns times (the no-op reruns, which must report changed=0).
A rerun's time is the median of its runs (*_rerun_runs_s lists them all): one run on this shared machine
can catch a spike of load that the other side did not.
It prints one JSON line per size:

    {"nodes": N, "ping_s": ..., "site_fresh_s": ..., "site_rerun_s": ..., "site_rerun_changed": 0,
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


def reruns(inventory, path, count):
    """The no-op reruns: (median seconds, most changed in one run, the last run's executions, every run's seconds)."""
    runs = [playbook(inventory, path) for dummy in range(count)]
    seconds = [run[0] for run in runs]
    return statistics.median(seconds), max(run[1] for run in runs), runs[-1][2], [round(value, 1) for value in seconds]


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
        cd_fresh_s = playbook(inventory, os.path.join(BENCH, "community_docker.yml"))[0]
        cd_rerun_s, _cd_changed, cd_exec, cd_runs = reruns(inventory, os.path.join(BENCH, "community_docker.yml"),
                                                           args.reruns)
        leave_swarm(args, names)
        site_fresh_s, site_fresh_changed, _exec = playbook(inventory, "site.yml")
        site_rerun_s, site_rerun_changed, site_exec, site_runs = reruns(inventory, "site.yml", args.reruns)
        peak = json.loads(lab(args, "status"))["peak_memory_bytes"]
    finally:
        if not args.keep:
            lab(args, "down")
    return dict(nodes=nodes, ping_s=round(ping_s, 1),
                site_fresh_s=round(site_fresh_s, 1), site_fresh_changed=site_fresh_changed,
                site_rerun_s=round(site_rerun_s, 1), site_rerun_changed=site_rerun_changed,
                cd_fresh_s=round(cd_fresh_s, 1), cd_rerun_s=round(cd_rerun_s, 1),
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

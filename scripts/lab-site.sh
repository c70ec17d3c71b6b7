#!/usr/bin/env bash
# README command 1: run the main job on the local lab.
# Prepares this machine (scripts/setup.sh), brings up the lab's node containers
# (lab/lab.py: 1 manager and 2 workers by default), runs site.yml on them and
# prints a short summary of the swarm. Run it again: it reuses what exists and
# reports changed=0.
#   SWARMNET_LAB_MANAGERS=3 SWARMNET_LAB_WORKERS=4 scripts/lab-site.sh
#   scripts/lab-site.sh --down      removes the lab (containers, volumes, network)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
bash scripts/setup.sh
if [ "${1:-}" = "--down" ]; then
    exec .venv/bin/python lab/lab.py down
fi
.venv/bin/python lab/lab.py up >/dev/null
.venv/bin/ansible-playbook -i lab/.state/inventory.yml site.yml
.venv/bin/ansible-playbook -i lab/.state/inventory.yml playbooks/swarm_summary.yml

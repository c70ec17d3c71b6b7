#!/usr/bin/env bash
# Make this machine ready to run the collection and its tests, idempotently:
#   1. a Docker engine that answers (installs Debian's docker.io and starts
#      dockerd when none answers; works without systemd),
#   2. debootstrap, to build the lab's node image offline,
#   3. the Python virtual environment .venv with requirements.txt.
# Sourced by scripts/lab-site.sh and scripts/test.sh; safe to run alone.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo/.venv"

say() { printf 'setup: %s\n' "$*" >&2; }

# shellcheck source=scripts/lib.sh disable=SC1091
. "$repo/scripts/lib.sh"

ensure_docker_engine() {
    if docker info >/dev/null 2>&1; then
        return 0
    fi
    command -v dockerd >/dev/null 2>&1 || apt_install docker.io
    command -v docker >/dev/null 2>&1 || apt_install docker.io
    if [ -d /run/systemd/system ]; then
        say "starting docker.service"
        as_root systemctl start docker
    else
        # No systemd as PID 1 (containers, CI sandboxes): start dockerd by hand.
        say "starting dockerd (log: /var/log/swarmnet-dockerd.log)"
        as_root sh -c 'setsid dockerd >/var/log/swarmnet-dockerd.log 2>&1 < /dev/null &'
    fi
    for _ in $(seq 1 60); do
        docker info >/dev/null 2>&1 && return 0
        sleep 1
    done
    say "the Docker engine did not answer within 60 s; see /var/log/swarmnet-dockerd.log"
    exit 1
}

pick_python() {
    # ansible 14 (ansible-core 2.20+, bundling community.docker 5) needs Python >= 3.12.
    local candidate
    for candidate in python3.13 python3.12 \
        /root/.pyenv/versions/3.13.0/bin/python3 /root/.pyenv/versions/3.12.1/bin/python3 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 9))' >/dev/null 2>&1; then
            command -v "$candidate"
            return 0
        fi
    done
    say "no usable Python 3.9+ with venv found: apt-get install python3-venv"
    exit 1
}

ensure_venv() {
    local stamp="$venv/.requirements.sha256"
    local want
    want="$(sha256sum "$repo/requirements.txt" | cut -d' ' -f1)"
    if [ -x "$venv/bin/ansible-playbook" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
        return 0
    fi
    local python
    python="$(pick_python)"
    say "creating $venv with $python ($("$python" --version 2>&1))"
    "$python" -m venv "$venv"
    # pip's output is kept apart so that its status decides (a pipeline's
    # filter must not hide it); a failed install writes no stamp.
    local pip_log rc=0
    pip_log="$(mktemp)"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$repo/requirements.txt" >"$pip_log" 2>&1 || rc=$?
    grep -v "is ignored: it is neither a file nor a directory" "$pip_log" >&2 || true
    rm -f "$pip_log"
    if [ "$rc" -ne 0 ]; then
        say "pip install -r $repo/requirements.txt failed (exit $rc, output above) in $venv;" \
            "fix the requirement or the network to PyPI and rerun scripts/setup.sh (no stamp written)"
        exit 1
    fi
    "$venv/bin/ansible-playbook" --version >/dev/null
    echo "$want" >"$stamp"
}

ensure_docker_engine
# debootstrap builds the lab's node image; shellcheck lets ansible-test sanity check the shell scripts.
command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
command -v shellcheck >/dev/null 2>&1 || apt_install shellcheck
ensure_venv
say "ready: $(docker version --format 'engine {{.Server.Version}}' 2>/dev/null), $("$venv/bin/ansible" --version | sed -n 1p)"

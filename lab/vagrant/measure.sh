#!/usr/bin/env bash
# Run a Vagrant scenario step by step and measure it: boot (molecule create),
# converge, idempotence, verify, destroy, total, and the peak memory of the VMs
# (sum of the QEMU processes' RSS, sampled every 2 s by vagrant_lab.py).
#
# Usage: lab/vagrant/measure.sh [vagrant|vagrant-smoke]     (default: vagrant)
# Prints the full log to lab/.state/vagrant/measure-<scenario>.log and a summary,
# also kept as lab/.state/vagrant/measure-<scenario>.json. Exits non-zero when a
# step fails (the VMs are destroyed all the same).
set -uo pipefail

scenario="${1:-vagrant}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo" || exit 1
bash scripts/setup.sh >/dev/null
export PATH="$repo/.venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$repo/.collections" NO_COLOR=1
name="$(sed -n 's/^ *SWARMNET_VAGRANT_NAME: *//p' "molecule/$scenario/molecule.yml")"
out="$repo/lab/.state/vagrant"
mkdir -p "$out"
log="$out/measure-$scenario.log"
: >"$log"
declare -A took
failed=""
mem_before_kib="$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)"

step() {
    local label="$1"
    shift
    local t0=$SECONDS
    printf '=== %s: molecule %s -s %s\n' "$(date +%T)" "$*" "$scenario" | tee -a "$log"
    molecule "$@" -s "$scenario" >>"$log" 2>&1
    local rc=$?
    took[$label]=$((SECONDS - t0))
    printf '    %s: %d s (rc %d)\n' "$label" "${took[$label]}" "$rc" | tee -a "$log"
    return $rc
}

start=$SECONDS
step destroy_before destroy
step boot create || failed="create"
[ -z "$failed" ] && { step converge converge || failed="converge"; }
[ -z "$failed" ] && { step idempotence idempotence || failed="idempotence"; }
[ -z "$failed" ] && { step verify verify || failed="verify"; }
memory="$(.venv/bin/python lab/vagrant/vagrant_lab.py status --name "$name" 2>/dev/null)"
step destroy destroy
total=$((SECONDS - start))
peak="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["memory"].get("peak_qemu_rss_mib", "?"))' "$memory" 2>/dev/null || echo '?')"
boot_vms="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["timings"].get("boot_s", "?"))' "$memory" 2>/dev/null || echo '?')"

summary="$(printf '{"scenario": "%s", "boot_s": %d, "vagrant_up_s": "%s", "converge_s": %s, "idempotence_s": %s, "verify_s": %s, "destroy_s": %d, "total_s": %d, "peak_qemu_rss_mib": "%s", "host_mem_available_before_mib": %d, "failed": "%s"}' \
    "$scenario" "${took[boot]:-0}" "$boot_vms" "${took[converge]:-0}" "${took[idempotence]:-0}" "${took[verify]:-0}" \
    "${took[destroy]:-0}" "$total" "$peak" "$((mem_before_kib / 1024))" "$failed")"
echo "$summary" >"$out/measure-$scenario.json"
grep -E '^(vagrant-lab|.*(PASSED|FAILED|ERROR)|.*(VIP|routing mesh|service_endpoint_probe|ingress peers|DNS ).*)' "$log" | cut -c1-400 || true
echo "$summary"
[ -z "$failed" ]

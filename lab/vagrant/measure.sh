#!/usr/bin/env bash
# Run a Vagrant scenario step by step and measure it: boot (molecule create),
# converge, idempotence, verify, destroy, total, and the peak memory of the VMs
# (sum of the RSS of the scenario's QEMU processes, sampled every 2 s).
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
case "$scenario" in
    vagrant) name=swarmnet ;;
    vagrant-smoke) name="${SWARMNET_VAGRANT_SMOKE_NAME:-swarmnet-smoke}" ;;
    *) echo "measure.sh: scenario vagrant or vagrant-smoke, not $scenario" >&2; exit 2 ;;
esac
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

# The peak of the summed RSS (MiB) of this scenario's VMs (QEMU's -name guest=<name>-manager1,...).
peak_file="$out/measure-$scenario.peak"
echo 0 >"$peak_file"
sample_memory() {
    local peak=0 rss
    while sleep 2; do
        rss="$(ps -C qemu-system-x86_64 -o rss=,args= |
            awk -v vm="guest=$name-(manager|worker)[0-9]+" '$0 ~ vm {sum += $1} END {print int(sum / 1024)}')"
        if ((rss > peak)); then
            peak=$rss
            echo "$peak" >"$peak_file"
        fi
    done
}
sample_memory &
sampler=$!
trap 'kill $sampler 2>/dev/null' EXIT

start=$SECONDS
step destroy_before destroy
step boot create || failed="create"
[ -z "$failed" ] && { step converge converge || failed="converge"; }
[ -z "$failed" ] && { step idempotence idempotence || failed="idempotence"; }
[ -z "$failed" ] && { step verify verify || failed="verify"; }
step destroy destroy
total=$((SECONDS - start))
peak="$(cat "$peak_file")"

summary="$(printf '{"scenario": "%s", "boot_s": %d, "converge_s": %s, "idempotence_s": %s, "verify_s": %s, "destroy_s": %d, "total_s": %d, "peak_qemu_rss_mib": %d, "host_mem_available_before_mib": %d, "failed": "%s"}' \
    "$scenario" "${took[boot]:-0}" "${took[converge]:-0}" "${took[idempotence]:-0}" "${took[verify]:-0}" \
    "${took[destroy]:-0}" "$total" "$peak" "$((mem_before_kib / 1024))" "$failed")"
echo "$summary" >"$out/measure-$scenario.json"
grep -E '^(.*(PASSED|FAILED|ERROR)|.*(VIP|routing mesh|service_endpoint_probe|ingress peers|DNS ).*)' "$log" | cut -c1-400 || true
echo "$summary"
[ -z "$failed" ]

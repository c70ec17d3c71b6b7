#!/usr/bin/env bash
# Print "kvm" when a stock kernel really boots under KVM here, else "tcg".
#
# /dev/kvm existing is not enough: on some hosts (nested or PVM guests) a stock
# kernel under -accel kvm hangs at "Booting from ROM". So boot a kernel under KVM
# for real, without a disk: if it reaches "Kernel panic ... unable to mount root"
# within the timeout, KVM works. The answer is cached per kernel and per boot of
# this machine in ${SWARMNET_VAGRANT_STATE:-lab/.state/vagrant}/accel.
# SWARMNET_VAGRANT_ACCEL=kvm|tcg skips the probe.
#
# Usage: lab/vagrant/probe-accel.sh [KERNEL]   (default: the swarmnet box's kernel, else /boot/vmlinuz-*)
set -uo pipefail

if [ -n "${SWARMNET_VAGRANT_ACCEL:-}" ]; then
    echo "$SWARMNET_VAGRANT_ACCEL"
    exit 0
fi
if [ ! -w /dev/kvm ] || ! command -v qemu-system-x86_64 >/dev/null; then
    echo tcg
    exit 0
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
state="${SWARMNET_VAGRANT_STATE:-$here/../.state/vagrant}"
kernel="${1:-}"
if [ -z "$kernel" ]; then
    for candidate in "${VAGRANT_HOME:-$HOME/.vagrant.d}"/boxes/swarmnet-VAGRANTSLASH-debian12/*/libvirt/vmlinuz \
        /boot/vmlinuz-*; do
        if [ -r "$candidate" ]; then
            kernel="$candidate"
            break
        fi
    done
fi
if [ -z "$kernel" ] || [ ! -r "$kernel" ]; then
    # Nothing to boot: trust /dev/kvm.
    echo kvm
    exit 0
fi

key="$(cat /proc/sys/kernel/random/boot_id 2>/dev/null) $(sha256sum "$kernel" | cut -c1-16)"
if [ -f "$state/accel" ] && [ "$(sed -n 1p "$state/accel")" = "$key" ]; then
    sed -n 2p "$state/accel"
    exit 0
fi

out="$(timeout 40 qemu-system-x86_64 -accel kvm -cpu host -m 256 -smp 1 -display none -no-reboot \
    -nodefaults -serial stdio -kernel "$kernel" -append "console=ttyS0 panic=-1 root=/dev/nonexistent" </dev/null 2>&1)"
if grep -qE 'Kernel panic|VFS: Unable to mount root' <<<"$out"; then
    accel=kvm
else
    accel=tcg
fi
mkdir -p "$state"
printf '%s\n%s\n' "$key" "$accel" >"$state/accel"
echo "$accel"

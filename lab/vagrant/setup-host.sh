#!/usr/bin/env bash
# Make this machine able to run the Vagrant scenario (molecule/vagrant), idempotently:
#   1. Debian packages: vagrant, vagrant-libvirt (Debian's build of the plugin:
#      `vagrant plugin install` needs rubygems.org, which may be out of reach),
#      libvirt daemons and client, dnsmasq, QEMU, qemu-utils, debootstrap;
#   2. /etc/libvirt/qemu.conf: QEMU runs as root without a security driver
#      (else it cannot read the box's kernel under /root/.vagrant.d);
#   3. virtlogd and libvirtd running: through systemd where it is PID 1,
#      started by hand (daemon mode) where it is not (containers, CI sandboxes);
#   4. libvirt's storage pool "default" (where vagrant-libvirt puts the disks).
# With SWARMNET_VAGRANT_PROVIDER=virtualbox it only checks that vagrant and
# VBoxManage are there: VirtualBox comes from the user's own packages.
# Safe to run again: whatever is there already is left alone.
set -euo pipefail

provider="${SWARMNET_VAGRANT_PROVIDER:-libvirt}"
say() { printf 'vagrant-setup: %s\n' "$*" >&2; }
# shellcheck source=scripts/lib.sh disable=SC1091
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/lib.sh"

if [ "$provider" = virtualbox ]; then
    command -v vagrant >/dev/null || apt_install vagrant
    command -v VBoxManage >/dev/null || {
        say "VirtualBox (VBoxManage) is not installed: install it from your distribution or virtualbox.org"
        exit 1
    }
    say "ready: $(vagrant --version), VirtualBox $(VBoxManage --version)"
    exit 0
fi
if [ "$provider" != libvirt ]; then
    say "SWARMNET_VAGRANT_PROVIDER must be libvirt or virtualbox, not '$provider'"
    exit 2
fi

apt_install vagrant vagrant-libvirt libvirt-daemon-system libvirt-clients \
    libvirt-daemon-driver-qemu dnsmasq-base iptables qemu-system-x86 qemu-utils \
    debootstrap curl

# QEMU as root, no AppArmor/SELinux labelling: only the lines we need, each set once.
conf=/etc/libvirt/qemu.conf
changed_conf=0
set_conf() {
    local key="$1" value="$2"
    if ! grep -qxF "$key = $value" "$conf"; then
        as_root sed -i "/^[#[:space:]]*${key}[[:space:]]*=/d" "$conf"
        echo "$key = $value" | as_root tee -a "$conf" >/dev/null
        changed_conf=1
    fi
}
set_conf user '"root"'
set_conf group '"root"'
set_conf security_driver '"none"'

libvirt_answers() { virsh -c qemu:///system version >/dev/null 2>&1; }

if [ -d /run/systemd/system ]; then
    if [ "$changed_conf" = 1 ]; then as_root systemctl restart libvirtd; fi
    as_root systemctl start virtlogd libvirtd
else
    # Without systemd: the daemons' own daemon mode, each started only when its pid is not alive.
    alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
    if ! alive /run/virtlogd.pid; then
        say "starting virtlogd"
        as_root virtlogd -d
    fi
    if [ "$changed_conf" = 1 ] && alive /run/libvirtd.pid; then
        say "restarting libvirtd (qemu.conf changed)"
        as_root kill "$(cat /run/libvirtd.pid)"
        for _ in $(seq 1 20); do alive /run/libvirtd.pid || break; sleep 0.5; done
    fi
    if ! alive /run/libvirtd.pid; then
        say "starting libvirtd (log: /var/log/libvirt/libvirtd.log)"
        as_root mkdir -p /var/log/libvirt
        as_root sh -c 'libvirtd -d >>/var/log/libvirt/libvirtd.log 2>&1'
    fi
fi
for _ in $(seq 1 30); do libvirt_answers && break; sleep 1; done
libvirt_answers || { say "libvirtd does not answer on qemu:///system"; exit 1; }

# vagrant-libvirt puts volumes into the pool "default": define it once.
if ! virsh -c qemu:///system pool-info default >/dev/null 2>&1; then
    say "defining libvirt storage pool default (/var/lib/libvirt/images)"
    as_root mkdir -p /var/lib/libvirt/images
    virsh -c qemu:///system pool-define-as default dir --target /var/lib/libvirt/images >/dev/null
    virsh -c qemu:///system pool-autostart default >/dev/null
fi
pool_state="$(virsh -c qemu:///system pool-info default | sed -n 's/^State:[[:space:]]*//p')"
if [ "$pool_state" != running ]; then
    virsh -c qemu:///system pool-start default >/dev/null
fi

plugins="$(vagrant plugin list 2>/dev/null || true)"
grep -q vagrant-libvirt <<<"$plugins" || {
    say "vagrant does not list the vagrant-libvirt plugin (Debian package vagrant-libvirt)"
    exit 1
}
say "ready: $(vagrant --version), libvirt $(virsh -c qemu:///system version --daemon 2>/dev/null | sed -n 's/.*daemon: //p' | head -n1), $(qemu-system-x86_64 --version | head -n1)"

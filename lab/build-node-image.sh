#!/usr/bin/env bash
# Build the lab's node image offline: a Debian 12 root file system made by
# debootstrap from Debian's packages (no container registry is needed), with
# systemd as PID 1, its own Docker engine and the Python Docker SDK, imported
# into the local engine. An image that already exists is not rebuilt: its tag
# is a hash of this script, so editing the recipe makes a new tag.
#
# Usage: lab/build-node-image.sh            prints the image name when done
# Env:   SWARMNET_LAB_MIRROR  Debian mirror (default http://deb.debian.org/debian)
set -euo pipefail


mirror="${SWARMNET_LAB_MIRROR:-http://deb.debian.org/debian}"
tag="$(sha256sum "$0" | cut -c1-12)"
image="swarmnet-lab-node:${tag}"

if docker image inspect "$image" >/dev/null 2>&1; then
    echo "$image"
    exit 0
fi

# What a swarm node needs: systemd (services behave as on a VM), the engine,
# Python and the SDK for our modules, iproute2/iptables/nftables for the
# firewall role, ufw and firewalld (with its Python bindings, which
# ansible.posix.firewalld needs; its polkitd needs a logind: libpam-systemd) so that all three firewall backends can run on
# lab nodes (they cannot reach a mirror at run time), openssh-server so that
# "SSH stays open" is checked against a real sshd, python3-apt so the engine
# role can check packages offline, and curl for hands-on debugging.
packages=(
    systemd systemd-sysv dbus ca-certificates
    docker.io containerd runc
    python3 python3-docker python3-apt
    iproute2 iptables nftables procps curl
    ufw firewalld python3-firewall libpam-systemd openssh-server
)

command -v debootstrap >/dev/null || {
    echo "debootstrap is missing: apt-get install -y debootstrap" >&2
    exit 1
}

work="$(mktemp -d /var/tmp/swarmnet-node-rootfs.XXXXXX)"
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"

echo "building $image with debootstrap (about 2 minutes)..." >&2
debootstrap --variant=minbase --include="$(IFS=,; echo "${packages[*]}")" \
    bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    tail -n 30 "$work/debootstrap.log" >&2
    exit 1
}

# A container has no consoles and no kernel modules to load: units that wait
# for them only slow the boot down or fail.
for unit in getty@tty1.service console-getty.service serial-getty@ttyS0.service \
    systemd-udevd.service systemd-modules-load.service sys-kernel-config.mount \
    systemd-remount-fs.service systemd-firstboot.service; do
    ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
done
# Installed, not switched on: a node runs iptables only, as a host without
# ufw/firewalld would. The lab turns ufw or firewalld on for a node on request
# (lab.py --firewall), as a host that has it on; the firewall role detects it.
# firewalld's package enables its unit; ufw ships with ENABLED=no.
rm -f "$rootfs/etc/systemd/system/multi-user.target.wants/firewalld.service" \
    "$rootfs/etc/systemd/system/dbus-org.fedoraproject.FirewallD1.service"
grep -q '^ENABLED=no' "$rootfs/etc/ufw/ufw.conf"
# Nested engines: keep logs small; iptables stays on so overlay/ingress rules work.
mkdir -p "$rootfs/etc/docker"
cat >"$rootfs/etc/docker/daemon.json" <<'EOF'
{
  "log-driver": "json-file",
  "log-opts": {"max-size": "5m", "max-file": "2"}
}
EOF
: >"$rootfs/etc/machine-id"

# Lab nodes cannot reach a mirror (as on an air-gapped site, their apt source is a
# local one): it holds the engine package as installed and a rebuild of it with a
# higher version, so that the engine role's upgrade and pin are real package changes.
repo="$rootfs/srv/swarmnet-lab-apt"
mkdir -p "$repo"
engine_deb="$(ls "$rootfs"/var/cache/apt/archives/docker.io_*.deb)"
cp "$engine_deb" "$repo/"
version="$(dpkg-deb -f "$engine_deb" Version)"
dpkg-deb -R "$engine_deb" "$work/engine-pkg"
sed -i "s/^Version: .*/Version: ${version}+swarmnetlab1/" "$work/engine-pkg/DEBIAN/control"
dpkg-deb -Zgzip -z1 -b "$work/engine-pkg" "$repo/docker.io_${version}+swarmnetlab1_amd64.deb" >/dev/null
for deb in "$repo"/*.deb; do
    dpkg-deb -f "$deb"
    printf 'Filename: ./%s\nSize: %s\nSHA256: %s\n\n' "$(basename "$deb")" "$(stat -c %s "$deb")" "$(sha256sum "$deb" | cut -d' ' -f1)"
done >"$repo/Packages"
rm -f "$rootfs/etc/apt/sources.list" "$rootfs"/etc/apt/sources.list.d/*
echo "deb [trusted=yes] file:/srv/swarmnet-lab-apt ./" >"$rootfs/etc/apt/sources.list.d/swarmnet-lab.list"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*

tar -C "$rootfs" -c . | docker import \
    --change 'CMD ["/lib/systemd/systemd"]' \
    --change 'ENV container=docker' \
    - "$image" >/dev/null
echo "$image"

#!/usr/bin/env bash
# Build the Vagrant box the scenario boots, offline, from Debian packages only:
# a Debian 12 (bookworm) root file system made by debootstrap with the kernel,
# systemd, sshd, python3 (+ python3-apt), docker.io and python3-docker, ufw and
# firewalld (installed, off) and tcpdump, a
# `vagrant` user holding Vagrant's insecure public key with passwordless sudo,
# and DHCP on the first NIC (eth0). The disk is an ext4 file system without
# partitions or bootloader: the box's own Vagrantfile boots its kernel directly
# (libvirt <kernel>/<initrd>), so no GRUB and no network are needed at boot.
#
# The box file is cached under ${SWARMNET_VAGRANT_CACHE:-~/.cache/swarmnet/vagrant}
# and added to Vagrant as `swarmnet/debian12` (provider libvirt). Nothing is rebuilt
# when the added box was made by this very recipe (a hash of this script is stored
# in the box); a changed recipe replaces the box, and the copy of its old disk that
# vagrant-libvirt keeps in the storage pool.
#
# Usage: lab/vagrant/build-box.sh [--force]       prints the box name when done
# Env:   SWARMNET_VAGRANT_MIRROR  Debian mirror (default http://deb.debian.org/debian)
#        SWARMNET_VAGRANT_BOX_NAME  box name (default swarmnet/debian12)
set -euo pipefail
trap 'echo "build-box: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

mirror="${SWARMNET_VAGRANT_MIRROR:-http://deb.debian.org/debian}"
box="${SWARMNET_VAGRANT_BOX_NAME:-swarmnet/debian12}"
cache="${SWARMNET_VAGRANT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/swarmnet/vagrant}"
recipe="$(sha256sum "$0" | cut -c1-16)"
box_file="$cache/swarmnet-debian12-$recipe.box"
box_dir="${VAGRANT_HOME:-$HOME/.vagrant.d}/boxes/${box//\//-VAGRANTSLASH-}/0/libvirt"
force=0
[ "${1:-}" = --force ] && force=1
say() { printf 'build-box: %s\n' "$*" >&2; }

if [ "$force" = 0 ] && [ "$(cat "$box_dir/recipe" 2>/dev/null)" = "$recipe" ]; then
    echo "$box"
    exit 0
fi

for tool in debootstrap mkfs.ext4 qemu-img vagrant; do
    command -v "$tool" >/dev/null || { say "$tool is missing: run lab/vagrant/setup-host.sh"; exit 1; }
done

if [ "$force" = 1 ] || [ ! -s "$box_file" ]; then
    packages=(
        # boot and services
        linux-image-amd64 initramfs-tools systemd systemd-sysv dbus udev kmod
        # network: ifupdown + DHCP (Vagrant's Debian guest configures eth1 through ifupdown)
        ifupdown isc-dhcp-client iproute2 iputils-ping netbase
        # Vagrant and Ansible reach the VM over SSH, as vagrant with sudo
        openssh-server sudo python3 python3-apt
        # the swarm node: engine, SDK, and what the firewall role and the checks use
        docker.io containerd runc python3-docker iptables curl ca-certificates procps less
        # the three firewall backends (installed, only iptables in charge until one is switched on:
        # molecule/vagrant/prepare.yml), firewalld's Python bindings (ansible.posix.firewalld) and
        # its polkit's logind; tcpdump and conntrack for the verify (captures on eth1, ESP flows)
        nftables ufw firewalld python3-firewall libpam-systemd tcpdump conntrack
    )
    work="$(mktemp -d /var/tmp/swarmnet-box.XXXXXX)"
    trap 'rm -rf "$work"' EXIT
    root="$work/rootfs"
    say "debootstrap of Debian 12 with the kernel, sshd and docker.io (about 3 minutes)..."
    debootstrap --variant=minbase --include="$(IFS=,; echo "${packages[*]}")" \
        bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
        tail -n 30 "$work/debootstrap.log" >&2
        exit 1
    }

    echo "/dev/vda / ext4 rw,errors=remount-ro 0 1" >"$root/etc/fstab"
    echo swarmnet-box >"$root/etc/hostname"
    printf '127.0.0.1\tlocalhost\n127.0.1.1\tswarmnet-box\n' >"$root/etc/hosts"
    cat >"$root/etc/network/interfaces" <<'EOF'
# The first NIC (eth0, names kept by net.ifnames=0) takes its address by DHCP;
# Vagrant adds its private networks (eth1, ...) below.
source /etc/network/interfaces.d/*

auto lo
iface lo inet loopback

allow-hotplug eth0
iface eth0 inet dhcp
EOF
    # Each VM gets its own identity on first boot: machine-id and SSH host keys.
    : >"$root/etc/machine-id"
    rm -f "$root"/etc/ssh/ssh_host_*
    mkdir -p "$root/etc/systemd/system/ssh.service.d"
    printf '[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n' \
        >"$root/etc/systemd/system/ssh.service.d/host-keys.conf"
    echo "UseDNS no" >"$root/etc/ssh/sshd_config.d/vagrant.conf"

    # The vagrant user: Vagrant's insecure key (Vagrant replaces it on first `vagrant up`), NOPASSWD sudo.
    pub="$(find /usr/share/rubygems-integration /usr/lib/ruby /opt/vagrant -path '*keys/vagrant.pub' 2>/dev/null | head -n1 || true)"
    [ -s "$pub" ] || { say "Vagrant's insecure key (keys/vagrant.pub) not found"; exit 1; }
    chroot "$root" useradd --create-home --shell /bin/bash --groups sudo,docker vagrant
    echo vagrant:vagrant | chroot "$root" chpasswd
    chroot "$root" passwd --lock root >/dev/null
    install -d -m 700 -o 1000 -g 1000 "$root/home/vagrant/.ssh"
    install -m 600 -o 1000 -g 1000 "$pub" "$root/home/vagrant/.ssh/authorized_keys"
    echo "vagrant ALL=(ALL) NOPASSWD: ALL" >"$root/etc/sudoers.d/vagrant"
    chmod 440 "$root/etc/sudoers.d/vagrant"

    # Installed, not switched on: a VM runs plain iptables, as a host without ufw/firewalld;
    # molecule/vagrant/prepare.yml switches one on (SWARMNET_VAGRANT_FIREWALLS). firewalld's package
    # enables its unit; ufw ships with ENABLED=no.
    rm -f "$root/etc/systemd/system/multi-user.target.wants/firewalld.service" \
        "$root/etc/systemd/system/dbus-org.fedoraproject.FirewallD1.service"
    grep -q '^ENABLED=no' "$root/etc/ufw/ufw.conf"

    # Engine logs stay small; the engine starts at boot (docker.io enables its unit).
    mkdir -p "$root/etc/docker"
    printf '{\n  "log-driver": "json-file",\n  "log-opts": {"max-size": "5m", "max-file": "2"}\n}\n' \
        >"$root/etc/docker/daemon.json"
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/var/log/*.log

    kernel="$(find "$root/boot" -name 'vmlinuz-*' | sort -V | tail -n1)"
    initrd="$root/boot/initrd.img-${kernel##*/vmlinuz-}"
    if [ ! -s "$kernel" ] || [ ! -s "$initrd" ]; then
        say "no kernel/initrd in the tree"
        exit 1
    fi
    mkdir -p "$work/box"
    cp "$kernel" "$work/box/vmlinuz"
    cp "$initrd" "$work/box/initrd.img"
    say "making the 8 GiB ext4 disk image"
    truncate -s 8G "$work/disk.raw"
    mkfs.ext4 -q -L root -d "$root" "$work/disk.raw"
    qemu-img convert -O qcow2 "$work/disk.raw" "$work/box/box.img"
    rm -f "$work/disk.raw"
    echo '{"provider": "libvirt", "format": "qcow2", "virtual_size": 8}' >"$work/box/metadata.json"
    echo "$recipe" >"$work/box/recipe"
    cat >"$work/box/Vagrantfile" <<'EOF'
# swarmnet/debian12: no bootloader, libvirt boots the box's own kernel directly.
Vagrant.configure("2") do |config|
  config.vm.provider :libvirt do |libvirt|
    libvirt.kernel = File.expand_path("../vmlinuz", __FILE__)
    libvirt.initrd = File.expand_path("../initrd.img", __FILE__)
    libvirt.cmd_line = "root=/dev/vda rw console=ttyS0 net.ifnames=0 apparmor=0"
    libvirt.disk_bus = "virtio"
  end
end
EOF
    mkdir -p "$cache"
    tar -C "$work/box" -czf "$box_file.tmp" metadata.json Vagrantfile recipe vmlinuz initrd.img box.img
    mv "$box_file.tmp" "$box_file"
    # Older builds of this box are of no use any more.
    find "$cache" -name 'swarmnet-debian12-*.box' ! -name "$(basename "$box_file")" -delete
    say "cached $box_file ($(du -h "$box_file" | cut -f1))"
fi

# vagrant-libvirt copies a box's disk into the storage pool once, by box name and version:
# drop that copy with the old box, else new VMs would still start from the old disk.
if virsh -c qemu:///system pool-info default >/dev/null 2>&1; then
    for vol in $(virsh -c qemu:///system vol-list default 2>/dev/null |
        awk -v p="${box//\//-VAGRANTSLASH-}_vagrant_box_image_" 'index($1, p) == 1 {print $1}'); do
        say "removing the old box disk $vol from the storage pool"
        virsh -c qemu:///system vol-delete --pool default "$vol" >/dev/null
    done
fi
vagrant box add --force --name "$box" "$box_file" >&2
echo "$box"

#!/usr/bin/env bash
# Free this scenario's VM names in libvirt before Molecule creates the VMs.
#   clear-stale-vms.sh EPHEMERAL_DIR NAME...
# from a scenario's dependency step, with ${MOLECULE_EPHEMERAL_DIRECTORY} as EPHEMERAL_DIR (molecule.yml
# interpolates it; Molecule does not export it to a shell dependency) and the platforms' names.
# A libvirt domain that carries one of NAME but is not in this scenario's Vagrant state
# (EPHEMERAL_DIR/.vagrant/machines/*/libvirt/id) was left by a run that was killed or
# whose state was reset, or came with a machine restored from a disk snapshot. vagrant-libvirt will not
# create a VM whose name is taken ("Name `swarmnet-manager1` of domain about to create is already taken"),
# nor one whose disk is left over ("Volume for domain is already created").
#   - such a domain, shut off: undefined with its disks;
#   - such a domain, running: someone's live VM (another checkout, another state directory): left alone,
#     and this script fails with what to do;
#   - a disk NAME.img in the pool "default" without its domain: deleted.
# Domains this scenario's state knows are left alone (molecule destroy is their way out).
set -euo pipefail

say() { printf 'clear-stale-vms: %s\n' "$*" >&2; }
virsh() { command virsh -c qemu:///system "$@"; }
if (($# < 2)) || [ ! -d "$1" ]; then
    say "usage: clear-stale-vms.sh EPHEMERAL_DIR NAME... (the scenario's \${MOLECULE_EPHEMERAL_DIRECTORY}, an" \
        "existing directory, then its platform names)"
    exit 2
fi
state_dir="$1/.vagrant/machines"
shift

# The UUIDs of the domains this scenario created (vagrant-libvirt writes each machine's id without a newline).
known=" "
for id_file in "$state_dir"/*/libvirt/id; do
    [ -s "$id_file" ] && known+="$(cat "$id_file") "
done

refused=0
for name in "$@"; do
    if uuid="$(virsh domuuid "$name" 2>/dev/null)"; then
        uuid="$(tr -d '[:space:]' <<<"$uuid")"
        [[ "$known" == *" $uuid "* ]] && continue
        state="$(virsh domstate "$name")"
        state="${state%%$'\n'*}" # its first line (no pipe to head: virsh would die of SIGPIPE under pipefail)
        if [ "$state" != "shut off" ]; then
            say "$name is $state and this scenario did not create it (not in $state_dir): it is another run's VM." \
                "Destroy it where it was created (molecule destroy), or by hand:" \
                "virsh -c qemu:///system destroy $name && virsh -c qemu:///system undefine $name --remove-all-storage"
            refused=1
            continue
        fi
        say "removing the stale domain $name ($state, uuid $uuid, not in $state_dir) and its disks"
        virsh undefine "$name" --remove-all-storage >/dev/null
    fi
    if virsh vol-info --pool default "$name.img" >/dev/null 2>&1; then
        say "removing the disk $name.img, left in the pool default without its domain"
        virsh vol-delete --pool default "$name.img" >/dev/null
    fi
done
exit "$refused"

# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""lab/vagrant/clear-stale-vms.sh against the real libvirtd of this machine (lab/vagrant/setup-host.sh).

The VM scenarios' dependency step runs the script before Molecule creates the VMs. CI once failed
there: the machine came from a disk snapshot taken while a run's VMs were up, so libvirt still had
domains named swarmnet-manager1 and so on, and vagrant-libvirt refused to create them ("Name
`swarmnet-manager1` of domain about to create is already taken").
Each test defines small domains (32 MiB, no network) and 1 MiB disks under names of its own
(swarmnet-stalecheck-*), so no scenario's VM is touched.
"""

import os
import subprocess
import uuid

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(REPO, "lab", "vagrant", "clear-stale-vms.sh")

DOMAIN_XML = """<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>32</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>{disk}</devices>
</domain>
"""
DISK_XML = ("<disk type='volume' device='disk'><driver name='qemu' type='qcow2'/>"
            "<source pool='default' volume='{name}.img'/><target dev='vda' bus='virtio'/></disk>")


def virsh(*args, check=True):
    return subprocess.run(["virsh", "-c", "qemu:///system"] + list(args), check=check,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def domain_exists(name):
    return virsh("domuuid", name, check=False).returncode == 0


def volume_exists(name):
    return virsh("vol-info", "--pool", "default", name + ".img", check=False).returncode == 0


PREFIX = "swarmnet-stalecheck-"


def remove(name):
    """Whatever there is of the test domain NAME: the running VM, its definition, its disk."""
    virsh("destroy", name, check=False)
    virsh("undefine", name, "--remove-all-storage", check=False)
    virsh("vol-delete", "--pool", "default", name + ".img", check=False)


@pytest.fixture(scope="module", autouse=True)
def no_leftovers():
    """Remove what a killed earlier run of these tests left (its teardown never ran)."""
    for name in virsh("list", "--all", "--name").stdout.split():
        if name.startswith(PREFIX):
            remove(name)
    for line in virsh("vol-list", "--pool", "default").stdout.splitlines():
        volume = line.split()[0] if line.split() else ""
        if volume.startswith(PREFIX) and volume.endswith(".img"):
            remove(volume[:-len(".img")])


@pytest.fixture
def names(tmp_path):
    """Three fresh names; whatever the test left of them is removed afterwards."""
    tag = uuid.uuid4().hex[:8]
    made = ["%s%s-%d" % (PREFIX, tag, i) for i in range(1, 4)]
    yield made
    for name in made:
        remove(name)


def define(tmp_path, name, with_disk=True):
    """Define a shut-off domain NAME (with its disk NAME.img when with_disk); return its UUID."""
    disk = ""
    if with_disk:
        virsh("vol-create-as", "default", name + ".img", "1M", "--format", "qcow2")
        disk = DISK_XML.format(name=name)
    xml = tmp_path / (name + ".xml")
    xml.write_text(DOMAIN_XML.format(name=name, disk=disk))
    virsh("define", str(xml))
    return virsh("domuuid", name).stdout.strip()


def scenario_state(tmp_path, known):
    """An ephemeral directory whose Vagrant state knows the domains in `known` ({machine: uuid})."""
    ephemeral = tmp_path / "ephemeral"
    for machine, domain_uuid in known.items():
        id_dir = ephemeral / ".vagrant" / "machines" / machine / "libvirt"
        id_dir.mkdir(parents=True)
        (id_dir / "id").write_text(domain_uuid)  # as vagrant-libvirt writes it: no newline
    ephemeral.mkdir(exist_ok=True)
    return str(ephemeral)


def clear(*args):
    return subprocess.run(["bash", SCRIPT] + list(args), check=False, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)


def test_a_stale_shut_off_domain_and_its_disk_are_removed_and_the_scenarios_own_are_kept(tmp_path, names):
    stale, own, free = names
    define(tmp_path, stale)
    own_uuid = define(tmp_path, own)
    ephemeral = scenario_state(tmp_path, {"manager1": own_uuid})

    result = clear(ephemeral, stale, own, free)
    print(result.stderr)

    assert result.returncode == 0, result.stderr
    assert not domain_exists(stale) and not volume_exists(stale)
    assert "removing the stale domain %s (shut off" % stale in result.stderr
    assert domain_exists(own) and volume_exists(own), "the scenario's own VM must be left to molecule destroy"
    assert own not in result.stderr and free not in result.stderr


def test_a_disk_left_without_its_domain_is_deleted(tmp_path, names):
    orphan = names[0]
    virsh("vol-create-as", "default", orphan + ".img", "1M", "--format", "qcow2")

    result = clear(scenario_state(tmp_path, {}), orphan)
    print(result.stderr)

    assert result.returncode == 0, result.stderr
    assert not volume_exists(orphan)
    assert "removing the disk %s.img" % orphan in result.stderr


def test_a_running_domain_of_another_run_is_left_alone_and_the_script_fails_with_the_way_out(tmp_path, names):
    running, stale = names[0], names[1]
    define(tmp_path, running, with_disk=False)  # no disk: it runs its firmware, enough to be "running"
    virsh("start", running)
    define(tmp_path, stale)

    result = clear(scenario_state(tmp_path, {}), running, stale)
    print(result.stderr)

    assert result.returncode == 1
    assert virsh("domstate", running).stdout.strip() == "running"
    assert "%s is running and this scenario did not create it" % running in result.stderr
    assert "virsh -c qemu:///system destroy %s" % running in result.stderr
    # The other names are still cleared: one live VM does not keep the stale ones.
    assert not domain_exists(stale)


def test_without_names_or_state_directory_it_says_how_to_call_it_and_touches_nothing(tmp_path, names):
    stale = names[0]
    define(tmp_path, stale)

    no_names = clear(scenario_state(tmp_path, {}))
    # What an uninterpolated ${MOLECULE_EPHEMERAL_DIRECTORY} would give: no such directory.
    no_state_dir = clear(str(tmp_path / "no-such-directory"), stale)

    for result in (no_names, no_state_dir):
        assert result.returncode == 2
        assert "usage: clear-stale-vms.sh EPHEMERAL_DIR NAME..." in result.stderr, result.stderr
        assert "MOLECULE_EPHEMERAL_DIRECTORY" in result.stderr
    assert domain_exists(stale)

"""Last (file order): after everything the verify did to the VMs (runbooks, services,
a firewall rule removed and restored), the main playbook changes nothing."""

import pytest
from conftest import recap_changed, run_playbook

# In vagrant_full only: what changes the swarm's configuration behind site.yml's back (the ESP cut and its
# restore, the rolling reboot) is there; the default checks only add and remove their own services, and the
# scenario's idempotence step has shown changed=0 already (about 2 minutes under TCG, for CI's hour).
pytestmark = pytest.mark.vagrant_full


def test_site_changes_nothing_after_the_verify():
    rc, out = run_playbook("playbooks/site.yml")
    assert rc == 0, out[-4000:]
    print("\n".join(line for line in out.splitlines() if "changed=" in line))
    assert recap_changed(out) == 0, out[-4000:]

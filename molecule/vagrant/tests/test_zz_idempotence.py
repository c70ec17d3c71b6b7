"""Last (file order): after everything the verify did to the VMs (runbooks, services,
a firewall rule removed and restored), the main playbook changes nothing."""

from conftest import recap_changed, run_playbook


def test_site_changes_nothing_after_the_verify():
    rc, out = run_playbook("playbooks/site.yml")
    assert rc == 0, out[-4000:]
    print("\n".join(line for line in out.splitlines() if "changed=" in line))
    assert recap_changed(out) == 0, out[-4000:]

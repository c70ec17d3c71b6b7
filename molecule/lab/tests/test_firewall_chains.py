"""swarmnet.overlay.firewall_chains, the firewall role's one writer of iptables rules, on the lab's
iptables node: --check --diff shows what differs and changes nothing, a real run puts back the jump and
the kept boot file in one execution, and lines iptables-restore rejects fail clearly and apply nothing."""

from conftest import node, recap_changed, run_module, run_playbook
from test_firewall_backends import FIREWALL_PLAYBOOK, _backend

BOOT_RULES = "/etc/swarmnet/firewall-boot.rules"
JUMP = "-A INPUT -m comment --comment swarmnet -j SWARMNET-INPUT"


def _iptables_worker(swarm_nodes):
    names = [n for n in swarm_nodes if _backend(n) == "iptables" and n.rsplit("-", 1)[1].startswith("worker")]
    assert len(names) == 1, names
    return names[0]


def _state(name):
    """INPUT's rules, and the kept boot file's content (None when missing)."""
    target = node(name)
    boot = target.run("cat %s" % BOOT_RULES)
    return target.check_output("iptables -S INPUT"), boot.stdout.strip() if boot.rc == 0 else None


def test_check_diff_shows_the_missing_jump_and_boot_file_then_a_run_heals_both(swarm_nodes):
    name = _iptables_worker(swarm_nodes)
    target = node(name)
    kept_rules = target.check_output("cat %s" % BOOT_RULES)
    assert JUMP in target.check_output("iptables -S INPUT")
    # Lost by hand: the jump to the role's chain and the file the unit restores at boot.
    target.check_output("iptables -D INPUT -m comment --comment swarmnet -j SWARMNET-INPUT && rm %s" % BOOT_RULES)
    lost = _state(name)
    try:
        rc, out = run_playbook(FIREWALL_PLAYBOOK, "--check", "--diff", "--limit", name)
        assert rc == 0 and recap_changed(out) == 1, out[-3000:]
        preview = out.split("TASK [swarmnet.overlay.firewall : Write the role's iptables chains", 1)[1].split("PLAY RECAP", 1)[0]
        assert "-I INPUT" in preview and "-j SWARMNET-INPUT" in preview, preview  # the line it would apply
        assert BOOT_RULES in preview and "-A SWARMNET-INPUT" in preview, preview  # the file it would write
        assert _state(name) == lost  # check mode changed nothing
    finally:
        rc, out = run_playbook(FIREWALL_PLAYBOOK, "--limit", name)
    assert rc == 0 and recap_changed(out) == 1, out[-3000:]  # one step wrote both
    rules, boot = _state(name)
    assert JUMP in rules and boot == kept_rules, (rules, boot)
    rc, out = run_playbook(FIREWALL_PLAYBOOK, "--limit", name)
    assert rc == 0 and recap_changed(out) == 0, out[-3000:]


def test_lines_iptables_restore_rejects_fail_clearly_and_apply_nothing(swarm_nodes):
    name = _iptables_worker(swarm_nodes)
    before = node(name).check_output("iptables-save -t filter | grep -v '^#' | sed 's/\\[[0-9:]*\\]//'")
    failed, result = run_module(name, "swarmnet.overlay.firewall_chains", {"restore": [
        "*filter", ":SWARMNET-INPUT - [0:0]", "-A SWARMNET-INPUT -p tcp --dport 2377 -j NO-SUCH-CHAIN", "COMMIT"]})
    assert failed and "iptables-restore could not apply the chains" in result["msg"], result
    assert "nothing was applied" in result["msg"], result["msg"]
    # Atomic: the declared chain was not flushed by the rejected restore.
    assert node(name).check_output("iptables-save -t filter | grep -v '^#' | sed 's/\\[[0-9:]*\\]//'") == before


def test_docker_user_missing_after_a_firewalld_reload_is_created_not_a_failure(swarm_nodes):
    """A firewalld reload flushes every iptables chain, Docker's too, and the engine puts its chains back a moment
    later (on firewalld's Reloaded signal). A run in between met no DOCKER-USER: the role's jump into it failed the
    whole restore ("No chain/target/match by that name", seen on the firewalld VM). The chain is now created
    first; the engine keeps an existing DOCKER-USER when it puts its rules back."""
    name = _iptables_worker(swarm_nodes)
    target = node(name)
    published = "-A DOCKER-USER -m comment --comment swarmnet -j SWARMNET-PUBLISHED"
    assert published in target.check_output("iptables -S DOCKER-USER")
    # As a firewalld reload leaves it, for Docker's DOCKER-USER: gone, with the engine's jump to it.
    target.check_output("iptables -D FORWARD -j DOCKER-USER && iptables -F DOCKER-USER && iptables -X DOCKER-USER")
    try:
        rc, out = run_playbook(FIREWALL_PLAYBOOK, "--limit", name)
        assert rc == 0 and recap_changed(out) == 1, out[-3000:]
        assert target.check_output("iptables -S DOCKER-USER").splitlines() == ["-N DOCKER-USER", published]
    finally:
        # What the engine does when it puts its rules back: its jump first in FORWARD, RETURN last in DOCKER-USER.
        target.run("iptables -N DOCKER-USER; iptables -A DOCKER-USER -j RETURN; iptables -I FORWARD 1 -j DOCKER-USER")
    rc, out = run_playbook(FIREWALL_PLAYBOOK, "--limit", name)
    assert rc == 0 and recap_changed(out) == 0, out[-3000:]

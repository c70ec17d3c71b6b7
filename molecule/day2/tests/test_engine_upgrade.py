"""rolling_maintenance.yml with engine_upgrade (issue 13): the engine role upgrades the package the
engine came from, and pins it back, on a real node. The lab's nodes have a local apt source (no
mirror reaches them) holding Debian's docker.io as installed and a rebuild of it with a higher
version (lab/build-node-image.sh), so both are real package changes and engine restarts.

Leaves the cluster as it found it: the worker back on its first version, site.yml changed=0.
"""

import re

from conftest import node, recap_changed, run_playbook, wait_for

from test_rolling_maintenance import converged, engine_started_at, node_table

UPGRADE_TASK = r"TASK \[swarmnet\.overlay\.engine : Install docker\.io[^\]]*\] \**\n(\w+): \[%s\]"


def package_version(name):
    return node(name).check_output("dpkg-query --show --showformat '${Version}' docker.io")


def offered_versions(name):
    """The docker.io versions the node's apt source offers."""
    text = node(name).check_output("cat /srv/swarmnet-lab-apt/Packages")
    return sorted(re.findall(r"^Version: (\S+)$", text, re.M))


def roll(worker, **engine):
    return run_playbook("playbooks/rolling_maintenance.yml", rolling_maintenance_hosts=worker,
                        rolling_maintenance_action="engine_upgrade", **engine)


def test_engine_upgrade_then_pin_back_on_one_worker(host, groups):
    worker = groups["swarm_workers"][-1]
    first = package_version(worker)
    newer = [v for v in offered_versions(worker) if v != first]
    assert len(newer) == 1, offered_versions(worker)
    try:
        started = engine_started_at(worker)
        rc, out = roll(worker, rolling_maintenance_engine_state="latest")
        assert rc == 0, out[-4000:]
        assert re.search(UPGRADE_TASK % re.escape(worker), out).group(1) == "changed", out[-4000:]
        assert package_version(worker) == newer[0]
        assert engine_started_at(worker) != started  # the role restarted it: Debian's docker.io only starts a stopped engine
        assert wait_for(lambda: converged(host, groups)), node_table(host)
        print("ENGINE-UPGRADE %s: %s -> %s" % (worker, first, package_version(worker)))

        # Already the newest: the role changes nothing (the roll itself still drains and returns the node).
        rc, out = roll(worker, rolling_maintenance_engine_state="latest")
        assert rc == 0 and re.search(UPGRADE_TASK % re.escape(worker), out).group(1) == "ok", out[-4000:]
    finally:
        # Pinned back to the first version: a downgrade, also through the roll.
        rc, out = roll(worker, rolling_maintenance_engine_version=first)
    assert rc == 0 and re.search(UPGRADE_TASK % re.escape(worker), out).group(1) == "changed", out[-4000:]
    assert package_version(worker) == first
    assert wait_for(lambda: converged(host, groups)), node_table(host)
    rc, out = run_playbook("site.yml")
    assert rc == 0 and recap_changed(out) == 0, out[-3000:]


def test_a_version_the_sources_do_not_offer_fails_clearly_and_changes_nothing(host, groups):
    worker = groups["swarm_workers"][-1]
    before, started = package_version(worker), engine_started_at(worker)
    rc, out = run_playbook("site.yml", "--limit", worker, engine_version="0.0-not-offered")
    assert rc != 0, out[-3000:]
    message = out[out.index("could not install docker.io=0.0-not-offered"):][:1200]
    assert "engine_version" in message and "apt-cache madison docker.io" in message, message
    assert "The installed docker.io %s was left as it is" % before in re.sub(r"\s+", " ", message), message
    assert package_version(worker) == before and engine_started_at(worker) == started
    assert node_table(host)[worker][:2] == ("Ready", "Active")


def test_an_engine_not_from_a_candidate_package_is_refused(host, groups):
    worker = groups["swarm_workers"][-1]
    before = package_version(worker)
    rc, out = run_playbook("site.yml", "--limit", worker, engine_state="latest", engine_package_candidates=["docker-ce"])
    assert rc != 0, out[-3000:]
    message = re.sub(r"\s+", " ", out[out.index("needs the engine installed from one of the Debian packages"):][:800])
    assert "docker-ce (engine_package_candidates)" in message and "Nothing was changed" in message, message
    assert package_version(worker) == before

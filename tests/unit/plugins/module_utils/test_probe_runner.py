# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""probe_runner's container lifecycle against a fake engine.

Limits on the probe container, its removal when the client gives up waiting,
the sweep of labelled leftovers of killed runs, and requests' timeouts (which
the Docker SDK does not wrap) turned into a clear ProbeError.
"""


import pytest
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import ReadTimeout

from ansible_collections.swarmnet.overlay.plugins.module_utils import probe_runner as pr
from ansible_collections.swarmnet.overlay.plugins.module_utils.docker_client import NotFound
from ansible_collections.swarmnet.overlay.plugins.module_utils.endpoint_probe import ProbeError

NOW = 1800000000.0
NETWORK = {"id": "netid", "name": "appnet", "attachable": True}


class FakeContainer(object):
    def __init__(self, engine, name, labels, created="2027-01-15T08:00:00Z", wait_raises=None, exec_raises=None):
        self.engine, self.name, self.labels = engine, name, labels
        self.id = name + "-id"
        self.created = created
        self.wait_raises, self.exec_raises = wait_raises, exec_raises
        self.removed = False

    @property
    def attrs(self):
        return {"Created": self.created, "Config": {"Labels": self.labels}}

    def start(self):
        self.engine.calls.append(("start", self.name))

    def wait(self, timeout=None):
        if self.wait_raises is not None:
            raise self.wait_raises
        return {"StatusCode": 0}

    def logs(self, stdout=True, stderr=False):
        return b'{"dns": {}, "targets": []}\n' if stdout else b""

    def remove(self, force=False):
        self.engine.calls.append(("remove", self.name, force))
        self.removed = True
        self.engine.containers.items = [c for c in self.engine.containers.items if c is not self]

    def exec_run(self, cmd, demux=False):
        if self.exec_raises is not None:
            raise self.exec_raises
        raise AssertionError("not used")


class FakeContainers(object):
    def __init__(self, engine):
        self.engine = engine
        self.items = []
        self.created_kwargs = None

    def list(self, all=False, filters=None):  # pylint: disable=redefined-builtin
        self.engine.calls.append(("list", all, filters))
        label = (filters or {}).get("label")
        return [c for c in self.items if label is None or label.split("=")[0] in c.labels]

    def create(self, image, **kwargs):
        self.created_kwargs = kwargs
        container = FakeContainer(self.engine, kwargs["name"], kwargs["labels"], wait_raises=self.engine.wait_raises)
        self.items.append(container)
        return container


class FakeImages(object):
    def get(self, image):
        if image != "swarmnet-probe":
            raise NotFound("no such image")


class FakeEngine(object):
    def __init__(self):
        self.calls = []
        self.wait_raises = None
        self.containers = FakeContainers(self)
        self.images = FakeImages()


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    monkeypatch.setattr(pr.time, "time", lambda: NOW)


def test_probe_container_has_limits_and_an_expiry_label():
    engine = FakeEngine()
    pr.run_in_container(engine, "swarmnet-probe", NETWORK, {"targets": []}, 40)
    kwargs = engine.containers.created_kwargs
    assert kwargs["mem_limit"] == pr.PROBE_MEMORY_LIMIT and kwargs["pids_limit"] == pr.PROBE_PIDS_LIMIT
    assert kwargs["labels"][pr.PROBE_LABEL] == "true"
    assert int(kwargs["labels"][pr.PROBE_EXPIRES_LABEL]) == int(NOW) + 40
    assert engine.containers.items == []  # removed after the run


@pytest.mark.parametrize("error", [ReadTimeout("Read timed out. (read timeout=70)"), RequestsConnectionError("Connection aborted.")])
def test_client_timeout_while_waiting_removes_the_container_and_fails_clearly(error):
    engine = FakeEngine()
    engine.wait_raises = error
    with pytest.raises(ProbeError) as failure:
        pr.run_in_container(engine, "swarmnet-probe", NETWORK, {"targets": []}, 40)
    assert "did not finish within 40 s" in str(failure.value) and type(error).__name__ in str(failure.value)
    assert engine.containers.items == [] and [c for c in engine.calls if c[0] == "remove"]


def test_leftovers_older_than_their_expiry_are_swept_and_fresh_ones_kept():
    engine = FakeEngine()
    expired = FakeContainer(engine, "swarmnet-probe-old", {pr.PROBE_LABEL: "true", pr.PROBE_EXPIRES_LABEL: str(int(NOW) - 5)})
    running = FakeContainer(engine, "swarmnet-probe-busy", {pr.PROBE_LABEL: "true", pr.PROBE_EXPIRES_LABEL: str(int(NOW) + 30)})
    # A leftover of an older version of the module: no expiry label, judged by its creation time.
    legacy_old = FakeContainer(engine, "swarmnet-probe-legacy", {pr.PROBE_LABEL: "true"})
    legacy_old.created = "2027-01-15T07:50:00.123456789Z"  # 10 minutes before NOW
    engine.containers.items = [expired, running, legacy_old]
    swept = pr.sweep_leftover_probes(engine, max_age=300)
    assert sorted(swept) == ["swarmnet-probe-legacy", "swarmnet-probe-old"]
    assert engine.containers.items == [running]


def test_run_in_container_sweeps_first():
    engine = FakeEngine()
    expired = FakeContainer(engine, "swarmnet-probe-old", {pr.PROBE_LABEL: "true", pr.PROBE_EXPIRES_LABEL: str(int(NOW) - 5)})
    engine.containers.items = [expired]
    pr.run_in_container(engine, "swarmnet-probe", NETWORK, {"targets": []}, 40)
    assert expired.removed


@pytest.mark.parametrize("error", [ReadTimeout("Read timed out. (read timeout=60)"), RequestsConnectionError("Connection aborted.")])
def test_exec_timeout_fails_clearly(error):
    container = FakeContainer(FakeEngine(), "app.1.abc", {}, exec_raises=error)
    with pytest.raises(ProbeError) as failure:
        pr.run_in_task(container, {"targets": []})
    text = str(failure.value)
    assert "app.1.abc" in text and type(error).__name__ in text and "did not answer" in text

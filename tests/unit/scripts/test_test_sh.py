# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""scripts/test.sh: a failed run ends with what failed, and an unknown stage runs nothing.

CI shows only the end of the output. Runs the real script in a copy of scripts/ with stand-ins on PATH (as
test_setup_sh.py does): the Python that makes the venv, docker, debootstrap, shellcheck, and a pytest that fails
one check and then prints a long tail, as a failing Molecule stage followed by other output does.
"""

import os
import subprocess

import pytest
from test_setup_sh import make_checkout


FAILING_PYTEST = """#!/bin/sh
echo "tests/unit/test_demo.py::test_the_vip_spreads_requests FAILED [ 50%]"
echo "E   assert 1 == 3"
echo "FAILED tests/unit/test_demo.py::test_the_vip_spreads_requests - assert 1 == 3"
i=0
while [ $i -lt 300 ]; do echo "later output line $i"; i=$((i + 1)); done
exit 1
"""


@pytest.fixture
def checkout(tmp_path):
    return make_checkout(tmp_path, pytest=FAILING_PYTEST)


def _run_test_sh(checkout, *stages):
    env = dict(os.environ, PATH="%s:/usr/bin:/bin" % (checkout / "fakebin"), FAKE_PIP_RC="0")
    return subprocess.run(["bash", str(checkout / "scripts" / "test.sh")] + list(stages), env=env, cwd=str(checkout),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)


def test_a_failed_stage_is_named_with_its_failing_checks_in_the_last_lines(checkout):
    result = _run_test_sh(checkout, "unit")
    assert result.returncode == 1, result.stdout[-3000:]
    # The report is the end of the output: after its first line, only what failed, none of the later output.
    tail = result.stdout.split("\n=== test.sh: FAILED: stage unit, exit 1, after ")[-1]
    assert len(result.stdout) - len(tail) > 5000 and len(tail.splitlines()) < 15, result.stdout[-3000:]
    assert "FAILED tests/unit/test_demo.py::test_the_vip_spreads_requests - assert 1 == 3" in tail, tail
    assert "test_the_vip_spreads_requests FAILED [ 50%]" in tail, tail
    assert "later output line" not in tail, tail


def test_an_unknown_stage_names_the_stages_and_runs_nothing(checkout):
    result = _run_test_sh(checkout, "unit", "lnit")
    assert result.returncode == 2, result.stdout
    assert 'no stage named "lnit"; the stages are: unit sanity lint build molecule day2 vagrant' in result.stdout
    assert "test.sh: FAILED: stage lnit, exit 2" in result.stdout.splitlines()[-2], result.stdout
    assert not (checkout / ".venv").exists(), "set-up ran before the stage names were checked"
    assert "later output line" not in result.stdout, "a stage ran"

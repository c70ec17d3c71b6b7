# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""scripts/setup.sh: a failed pip install fails the set-up and writes no stamp.

Runs the real script in a copy of scripts/ with stand-ins on PATH for docker,
debootstrap, shellcheck and the Python that makes the venv (its pip fails or
succeeds as the test says): nothing is installed and no network is used.
"""


import os
import shutil
import stat
import subprocess

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))

FAKE_PYTHON = """#!/bin/sh
# Stand-in for python3.13: "-c ..." succeeds, "-m venv DIR" makes a venv whose pip exits $FAKE_PIP_RC.
if [ "$1" = "--version" ]; then echo "Python 3.13.0"; exit 0; fi
if [ "$1" = "-c" ]; then exit 0; fi
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
    mkdir -p "$3/bin"
    printf '#!/bin/sh\\necho "ERROR: No matching distribution found for nothing-here"\\nexit %s\\n' "$FAKE_PIP_RC" > "$3/bin/pip"
    printf '#!/bin/sh\\necho "ansible [core 2.20.0]"\\n' > "$3/bin/ansible-playbook"
    cp "$3/bin/ansible-playbook" "$3/bin/ansible"
    chmod +x "$3/bin/pip" "$3/bin/ansible-playbook" "$3/bin/ansible"
    exit 0
fi
exit 3
"""


def _write_exe(path, text):
    with open(path, "w") as handle:
        handle.write(text)
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)


def make_checkout(tmp_path, **stand_ins):
    """A copy of scripts/ with stand-ins in fakebin/: the Python above, docker, debootstrap and shellcheck that do
    nothing, and any other given as name=script (test_test_sh.py adds a pytest)."""
    shutil.copytree(os.path.join(REPO, "scripts"), str(tmp_path / "scripts"))
    (tmp_path / "requirements.txt").write_text("nothing-here==0\n")
    fakes = tmp_path / "fakebin"
    fakes.mkdir()
    tools = dict({"python3.13": FAKE_PYTHON}, **{tool: "#!/bin/sh\nexit 0\n" for tool in ("docker", "debootstrap", "shellcheck")})
    tools.update(stand_ins)
    for tool, script in tools.items():
        _write_exe(str(fakes / tool), script)
    return tmp_path


@pytest.fixture
def checkout(tmp_path):
    return make_checkout(tmp_path)


def _run_setup(checkout, pip_rc):
    env = dict(os.environ, PATH="%s:/usr/bin:/bin" % (checkout / "fakebin"), FAKE_PIP_RC=str(pip_rc))
    return subprocess.run(["bash", str(checkout / "scripts" / "setup.sh")], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, check=False)


def test_failed_pip_install_fails_setup_and_writes_no_stamp(checkout):
    result = _run_setup(checkout, pip_rc=1)
    assert result.returncode != 0, result.stdout
    assert not (checkout / ".venv" / ".requirements.sha256").exists()
    # The message names what failed and what to do; pip's own error is shown.
    assert "pip install -r" in result.stdout and "requirements.txt" in result.stdout, result.stdout
    assert "No matching distribution found" in result.stdout, result.stdout


def test_successful_pip_install_writes_the_stamp(checkout):
    result = _run_setup(checkout, pip_rc=0)
    assert result.returncode == 0, result.stdout
    assert (checkout / ".venv" / ".requirements.sha256").exists()

"""Offline stand-in for ansible-test's get-pip bootstrap script.

ansible-test makes a virtual environment per sanity test and bootstraps pip in
it with a script it downloads from ci-files.testing.ansible.com, a host this
machine cannot reach. scripts/test.sh copies this file to
~/.ansible/test/cache/get_pip_<version>.py, where ansible-test looks first.
Like get-pip.py, it is run as __main__ with pip-install arguments; it installs
the pip bundled with Python (ensurepip) and then the requested versions from
the package index.
"""

import ensurepip
import os
import subprocess
import sys

# get-pip.py's own flags, which pip itself does not know.
GET_PIP_ONLY_FLAGS = ("--no-setuptools", "--no-wheel")

# ensurepip.bootstrap() drops the PIP_* variables and points PIP_CONFIG_FILE at
# /dev/null; the pip run below needs them back (e.g. pip.conf's cert= setting).
SAVED_ENV = dict(os.environ)
ensurepip.bootstrap(upgrade=True)
os.environ.clear()
os.environ.update(SAVED_ENV)
ARGS = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_FLAGS]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "--upgrade", "--force-reinstall"] + ARGS))

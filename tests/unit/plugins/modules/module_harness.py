# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running a module's main() in a unit test: its arguments in, its exit or failure out."""

import contextlib
import json

from ansible.module_utils import basic


class ExitJson(Exception):
    """Raised instead of AnsibleModule.exit_json; args[0] is the result."""


class FailJson(Exception):
    """Raised instead of AnsibleModule.fail_json; args[0] is the result."""


def exit_json(self, **kwargs):  # pylint: disable=unused-argument
    raise ExitJson(kwargs)


def fail_json(self, **kwargs):  # pylint: disable=unused-argument
    raise FailJson(kwargs)


@contextlib.contextmanager
def module_args(args):
    """Give AnsibleModule these arguments, as ansible-core's own tests do."""
    try:
        from ansible.module_utils.testing import patch_module_args
    except ImportError:  # ansible-core < 2.19
        patch_module_args = None
    if patch_module_args is not None:
        with patch_module_args(args):
            yield
        return
    old = basic._ANSIBLE_ARGS
    basic._ANSIBLE_ARGS = json.dumps(dict(ANSIBLE_MODULE_ARGS=args)).encode()
    try:
        yield
    finally:
        basic._ANSIBLE_ARGS = old


class ReachedDocker(Exception):
    """Raised where a module would open its Docker client: validation let the input through."""


def no_docker(module):
    raise ReachedDocker(module.params)


def runner_without_docker(monkeypatch, *modules):
    """Patch AnsibleModule's exits and the modules' get_docker_client; return run(module, args)."""
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    for mod in modules:
        monkeypatch.setattr(mod, "get_docker_client", no_docker)

    def run(mod, args):
        with module_args(args):
            mod.main()
    return run

# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every role's meta/argument_specs.yml says what its defaults/main.yml does.

The role's real defaults come from defaults/main.yml; argument_specs.yml is
what ansible-doc and Galaxy show. A default that is a template is compared
with what it renders to when nothing else is set (role vars only); one that
renders to omit, or needs facts, must have no default in the spec. An option
that takes null as a value ("null for none" in its description) leaves its
default out of the spec: role validation would refuse null once a default is
stated; its description names the default instead.
"""

import glob
import os

import pytest
import yaml
from ansible.errors import AnsibleError
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ROLES = sorted(os.path.basename(path) for path in glob.glob(os.path.join(ROOT, "roles", "*")) if os.path.isdir(path))
NO_DEFAULT = object()


def _load(role, *parts):
    path = os.path.join(ROOT, "roles", role, *parts)
    if not os.path.exists(path):
        return {}
    with open(path) as handle:
        return yaml.safe_load(handle) or {}


def _effective(value, role_vars):
    """What a default from defaults/main.yml is when nothing else is set, or NO_DEFAULT."""
    if isinstance(value, dict):
        return {key: _effective(item, role_vars) for key, item in value.items()}
    if isinstance(value, list):
        return [_effective(item, role_vars) for item in value]
    if not (isinstance(value, str) and "{{" in value):
        return value
    templar = Templar(loader=DataLoader(), variables=role_vars)
    try:
        rendered = templar.template(trust_as_template(value))
    except AnsibleError:  # omit, or a fact: only known on the host
        return NO_DEFAULT
    # Still a template: built from role vars that are computed themselves (a file's hash).
    return NO_DEFAULT if isinstance(rendered, str) and "{{" in rendered else rendered


def _spec_default(option):
    """The default an option's spec states (dicts: built from their suboptions)."""
    if "default" in option:
        return option["default"]
    return NO_DEFAULT if option.get("type") != "dict" or "options" not in option else None


def _compare(name, option, value, problems):
    sub = option.get("options")
    if option.get("type") == "dict" and sub and isinstance(value, dict) and "default" not in option:
        unknown = sorted(set(value) - set(sub))
        if unknown:
            problems.append("%s: defaults/main.yml sets %s, not in the spec's suboptions" % (name, ", ".join(unknown)))
        for key, suboption in sub.items():
            if key in value:
                _compare("%s.%s" % (name, key), suboption, value[key], problems)
            elif "default" in suboption and suboption["default"] is not None:
                problems.append("%s: spec default %r, defaults/main.yml does not set it" % (name + "." + key, suboption["default"]))
        return
    stated = option.get("default", NO_DEFAULT)
    if value is NO_DEFAULT:
        if stated is not NO_DEFAULT and stated is not None:
            problems.append("%s: spec default %r, but the real default is computed on the host" % (name, stated))
        return
    if stated is NO_DEFAULT and value is None:
        return
    if stated is NO_DEFAULT and "null" in str(option.get("description", "")):
        if str(value) not in str(option["description"]):
            problems.append("%s: defaults/main.yml %r, not named in the description of the nullable option" % (name, value))
        return
    if stated != value:
        problems.append("%s: spec default %r, defaults/main.yml %r" % (name, None if stated is NO_DEFAULT else stated, value))


@pytest.mark.parametrize("role", ROLES)
def test_argument_specs_match_defaults(role):
    defaults = _load(role, "defaults", "main.yml")
    role_vars = _load(role, "vars", "main.yml")
    spec = _load(role, "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert sorted(defaults) == sorted(spec), "variables in only one of defaults/main.yml and meta/argument_specs.yml"
    problems = []
    for name, option in spec.items():
        _compare(name, option, _effective(defaults[name], role_vars), problems)
    assert not problems, "\n".join(problems)


def test_the_comparison_catches_a_wrong_suboption_default():
    problems = []
    option = {"type": "dict", "options": {"networks": {"type": "list", "default": []}}}
    _compare("demo_services_helloworld", option, {"networks": ["helloNet"]}, problems)
    assert problems == ["demo_services_helloworld.networks: spec default [], defaults/main.yml ['helloNet']"]

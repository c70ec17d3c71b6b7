# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's Python is Python 3 only: no Python 2 boilerplate comes back with a new file.

ansible-core 2.17+ runs modules on Python 3 only, so `__metaclass__ = type`, the `__future__`
imports and `u"..."` literals are noise a newcomer copies into the next file.
"""

import io
import pathlib
import tokenize

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PYTHON_FILES = sorted(
    path for folder in ("plugins", "tests", "bench", "lab", "molecule") for path in (ROOT / folder).rglob("*.py")
)


def python2_leftovers(source):
    """Return the lines of `source` that carry Python 2 boilerplate, as (line number, text)."""
    found = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        text = token.string
        if token.type == tokenize.STRING and text[:1] in "uU" and text[1:2] in "'\"":
            found.append((token.start[0], text[:20]))
        elif token.type == tokenize.NAME and text == "__metaclass__" and token.start[1] == 0:
            found.append((token.start[0], "__metaclass__"))
        elif token.type == tokenize.NAME and text == "__future__":
            found.append((token.start[0], "from __future__ import"))
    return found


def test_the_check_finds_each_kind_of_leftover():
    source = 'from __future__ import print_function\n__metaclass__ = type\nname = u"x"\nok = "u"\n'
    assert python2_leftovers(source) == [(1, "from __future__ import"), (2, "__metaclass__"), (3, 'u"x"')]


@pytest.mark.parametrize("path", PYTHON_FILES, ids=lambda path: str(path.relative_to(ROOT)))
def test_no_python2_boilerplate(path):
    leftovers = python2_leftovers(path.read_text())
    assert not leftovers, "%s: remove the Python 2 leftovers at %s" % (path.relative_to(ROOT), leftovers)

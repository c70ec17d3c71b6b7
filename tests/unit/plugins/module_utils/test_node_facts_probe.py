# Copyright (c) swarmnet developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""node_facts_probe: which managers accept a TCP connection (tried on loopback sockets); a file's state (tmp files)."""


import grp
import os
import pwd
import socket

from ansible_collections.swarmnet.overlay.plugins.module_utils import node_facts_probe as probe


def test_reach_tells_answering_from_silent_addresses():
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen(1)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: the connection is refused
    try:
        open_addr = "127.0.0.1:%d" % listening.getsockname()[1]
        closed_addr = "127.0.0.1:%d" % closed.getsockname()[1]
        answering, silent = probe.reach([open_addr, closed_addr], timeout=1.0)
    finally:
        listening.close()
        closed.close()
    assert answering == [open_addr]
    assert [s["addr"] for s in silent] == [closed_addr] and silent[0]["error"]


def test_reach_nothing_to_try():
    assert probe.reach([]) == ([], [])


def test_file_state_reads_content_mode_and_names_and_none_when_missing(tmp_path):
    path = tmp_path / "swarmnet"
    path.write_text("[swarmnet-node]\nports=7946/tcp\n")
    path.chmod(0o640)
    state = probe.file_state(str(path))
    assert state["content"] == "[swarmnet-node]\nports=7946/tcp\n"
    assert state["mode"] == "0640"
    assert state["owner"] == pwd.getpwuid(os.getuid())[0] and state["group"] == grp.getgrgid(os.getgid())[0]
    assert probe.file_state(str(tmp_path / "missing")) is None

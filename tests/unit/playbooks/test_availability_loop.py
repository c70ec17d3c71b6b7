"""The counting of playbooks/files/availability_loop.py (the request loop of rolling_maintenance.yml)."""

import http.server
import importlib.util
import os
import socket
import threading

import pytest

_PATH = os.path.join(os.path.dirname(__file__), "..", "..", "..", "playbooks", "files", "availability_loop.py")
_SPEC = importlib.util.spec_from_file_location("availability_loop", _PATH)
availability_loop = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(availability_loop)


def test_counts_sent_failed_and_fallbacks():
    tally = availability_loop.Tally(100.0)
    tally.record(100.2, "hello from a", [])
    tally.record(100.4, None, ["10.0.0.3: timeout"])
    tally.record(100.6, "hello from b", ["10.0.0.3: connection refused"])
    numbers = tally.summary(100.8)
    assert (numbers["sent"], numbers["failed"], numbers["fallbacks"]) == (3, 1, 1)
    assert numbers["responders"] == {"hello from a": 1, "hello from b": 1}
    assert numbers["failures"] == [{"at": availability_loop.stamp(100.4), "errors": ["10.0.0.3: timeout"]}]
    assert numbers["fallback_errors"][0]["answered"] == "hello from b"


def test_longest_gap_spans_failed_requests_between_two_answers():
    tally = availability_loop.Tally(0.0)
    tally.record(0.1, "a", [])
    for at in (0.3, 0.5, 0.7):
        tally.record(at, None, ["timeout"])
    tally.record(1.6, "a", [])
    tally.record(1.8, "a", [])
    numbers = tally.summary(1.9)
    assert numbers["longest_gap"] == pytest.approx(1.5)
    assert numbers["longest_gap_span"] == [availability_loop.stamp(0.1), availability_loop.stamp(1.6)]


def test_time_without_any_answer_until_the_end_is_a_gap():
    tally = availability_loop.Tally(0.0)
    tally.record(0.2, None, ["name does not resolve"])
    numbers = tally.summary(3.0)
    assert (numbers["sent"], numbers["failed"], numbers["longest_gap"]) == (1, 1, 3.0)


def test_lists_at_most_the_bound_of_failures_but_counts_all():
    tally = availability_loop.Tally(0.0)
    for index in range(availability_loop.MAX_LISTED_FAILURES + 7):
        tally.record(index, None, ["timeout"])
    numbers = tally.summary(1000.0)
    assert numbers["failed"] == availability_loop.MAX_LISTED_FAILURES + 7
    assert len(numbers["failures"]) == availability_loop.MAX_LISTED_FAILURES


def test_a_name_that_does_not_resolve_fails_with_the_reason(monkeypatch):
    def no_such_name(*_args):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    monkeypatch.setattr(availability_loop.socket, "getaddrinfo", no_such_name)
    responder, errors = availability_loop.one_request("rolling-hello", 8080, "/", 0.5)
    assert responder is None and errors == ["name does not resolve (Name or service not known)"]


def test_answers_and_refusals_on_loopback():
    class Hello(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802  pylint: disable=invalid-name
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"hello from loopback\n")

        def log_message(self, *_args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Hello)
    thread = threading.Thread(target=server.handle_request)
    thread.start()
    try:
        assert availability_loop.one_request("127.0.0.1", server.server_address[1], "/", 2.0) == ("hello from loopback", [])
    finally:
        thread.join(5)
        server.server_close()
    # The same port, closed now: refused, and the request counts as failed.
    responder, errors = availability_loop.one_request("127.0.0.1", server.server_address[1], "/", 2.0)
    assert responder is None and errors == ["127.0.0.1: connection refused"]

"""The run's event log: a torn line (a writer killed mid-write) never breaks the readers."""

from __future__ import annotations

import json
from dataclasses import asdict

from kconformance.events import Event, EventLog


def test_torn_last_line_is_skipped_and_read_once_complete(tmp_path):
    log = EventLog(tmp_path / "events.jsonl")
    log.append(Event("creating", "kc-a", "1.28-gates"))
    whole = json.dumps(asdict(Event("ready", "kc-a", "1.28-gates", 3.0)))
    with open(log.path, "a") as handle:
        handle.write(whole[:10])  # half a line
    assert [e.event for e in log.read()] == ["creating"]
    assert [e.event for e in log.unseen()] == ["creating"]
    with open(log.path, "a") as handle:
        handle.write(whole[10:] + "\n")
    assert [e.event for e in log.unseen()] == ["ready"]
    assert log.unseen() == []


def test_append_recreates_a_removed_run_directory(tmp_path):
    """-n 0: the run directory can be gone when a preflight warning is written."""
    log = EventLog(tmp_path / "runs" / "abc" / "events.jsonl")
    log.append(Event("warning", "", "", detail="inotify"))
    assert log.read()[0].line() == "kconformance: warning: inotify"

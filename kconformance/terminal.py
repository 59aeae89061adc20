"""Printing cluster progress outside pytest's output capture, from any thread."""

from __future__ import annotations

import threading

import pytest


def write_line(config: pytest.Config, line: str) -> None:
    """Print outside of output capture, so cluster progress shows while tests run."""
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    capman = config.pluginmanager.get_plugin("capturemanager")
    if terminal is None:
        return
    if capman is not None and threading.current_thread() is threading.main_thread():
        with capman.global_and_fixture_disabled():
            terminal.ensure_newline()
            terminal.write_line(line)
    else:
        terminal.ensure_newline()
        terminal.write_line(line)

"""A Ctrl-C that a callback swallows (as JAX's garbage-collection hook does) still stops a
command: remembered by ``watch_interrupts``, raised again by ``raise_if_interrupted``."""

import os
import signal
import time

import pytest

from scalebayes import cli
from scalebayes._interrupt import raise_if_interrupted, watch_interrupts
from scalebayes.cli import main


def _swallowed_sigint() -> None:
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1.0)  # the handler raises here, at once
        pytest.fail("SIGINT was not delivered")
    except KeyboardInterrupt:
        pass  # what an "Exception ignored in callback" amounts to


def test_a_swallowed_interrupt_is_raised_again_within_the_watch():
    before = signal.getsignal(signal.SIGINT)
    with watch_interrupts():
        raise_if_interrupted()  # nothing yet
        _swallowed_sigint()
        with pytest.raises(KeyboardInterrupt):
            raise_if_interrupted()
    assert signal.getsignal(signal.SIGINT) is before
    raise_if_interrupted()  # outside the block: forgotten, Python's own behaviour


def test_the_command_line_exits_130_after_a_swallowed_interrupt(tmp_path, capsys, monkeypatch):
    def swallowing_run(args):
        _swallowed_sigint()
        return 0

    parser = cli._main.build_parser()
    args = parser.parse_args(["cache"])
    monkeypatch.setattr(args, "_run", swallowing_run, raising=False)
    monkeypatch.setattr(cli._main.argparse.ArgumentParser, "parse_args", lambda *a, **k: args)
    assert main(["cache"]) == 130
    assert capsys.readouterr().err.strip().endswith("interrupted")

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


def _swallowing_run(args):
    _swallowed_sigint()
    return 0


def _wrapping_run(args):
    """A review: JAX's compilation cache raised a RuntimeError "Exception raised in callback:
    ... KeyboardInterrupt" and the command printed a traceback and exited 1."""
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1.0)  # the handler raises here, at once
    except KeyboardInterrupt as error:
        raise RuntimeError("Exception raised in callback: KeyboardInterrupt") from error
    pytest.fail("SIGINT was not delivered")


@pytest.mark.parametrize("run", [_swallowing_run, _wrapping_run], ids=["swallowed", "wrapped"])
def test_the_command_line_exits_130_after_a_hidden_interrupt(capsys, monkeypatch, run):
    parser = cli._main.build_parser()
    args = parser.parse_args(["cache"])
    monkeypatch.setattr(args, "_run", run, raising=False)
    monkeypatch.setattr(cli._main.argparse.ArgumentParser, "parse_args", lambda *a, **k: args)
    assert main(["cache"]) == 130
    assert capsys.readouterr().err.strip().endswith("interrupted")


def test_an_interrupt_a_callback_swallows_prints_no_traceback():
    """Python reports an exception raised inside a callback through sys.unraisablehook
    ("Exception ignored in ..."); within the watch a recorded Ctrl-C is not reported there,
    and any other exception still is."""
    import sys

    class Info:
        def __init__(self, exc):
            self.exc_type, self.exc_value, self.exc_traceback = type(exc), exc, None
            self.err_msg, self.object = "Exception ignored in", None

    seen = []
    before = sys.unraisablehook
    sys.unraisablehook = lambda info: seen.append(type(info.exc_value).__name__)
    try:
        with watch_interrupts():
            _swallowed_sigint()
            sys.unraisablehook(Info(KeyboardInterrupt()))
            sys.unraisablehook(Info(RuntimeError("other")))
            with pytest.raises(KeyboardInterrupt):
                raise_if_interrupted()
        assert seen == ["RuntimeError"]  # the recorded Ctrl-C was not reported
    finally:
        sys.unraisablehook = before


def test_an_interrupt_while_jax_is_imported_exits_130(capsys, monkeypatch):
    """A review: Ctrl-C in the first tenth of a second reached the import of JAX (by the
    compilation cache's set-up, outside the command's guard) and surfaced as an ImportError
    "Encountered an error while initializing the extension": two tracebacks, exit 1."""

    def importing(*args, **kwargs):
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1.0)
        except KeyboardInterrupt as error:
            raise ImportError("Encountered an error while initializing the extension") from error
        pytest.fail("SIGINT was not delivered")

    monkeypatch.setattr(cli._main, "enable_compilation_cache", importing)
    parser = cli._main.build_parser()
    args = parser.parse_args(["cache"])
    monkeypatch.setattr(args, "command", "fit")
    monkeypatch.setattr(args, "_run", lambda a: pytest.fail("ran past the interrupt"))
    monkeypatch.setattr(cli._main.argparse.ArgumentParser, "parse_args", lambda *a, **k: args)
    assert main(["fit"]) == 130
    assert capsys.readouterr().err.strip().endswith("interrupted")

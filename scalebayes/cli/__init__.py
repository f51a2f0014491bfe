"""The ``scalebayes`` command line: one entry point, one error path.

[`main`][scalebayes.cli.main] runs ``scalebayes COMMAND ...`` (``study``, ``fit``, ``demo``,
``allocate``, ``train-pfn``, ``extrapolate``, ``suggest``, ``ntk-study``, ``cache``). Every
user error is one line on stderr and exit status 2, Ctrl-C is one line and exit 130; the
argument types in ``_argtypes`` check files, numbers and output paths before any work. Each
command's parser is light: JAX, NumPyro and matplotlib load only when the command runs. This
package sits on top of every other; nothing imports it.
"""

from ._main import build_parser, main

__all__ = ["build_parser", "main"]

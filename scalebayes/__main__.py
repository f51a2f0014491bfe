"""``python -m scalebayes``: the same command line as the ``scalebayes`` script."""

from .cli import main

raise SystemExit(main())

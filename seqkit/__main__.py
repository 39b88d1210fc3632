"""``python -m seqkit``: the same as the ``seqkit`` command."""

import sys

from seqkit.cli import main

sys.exit(main())

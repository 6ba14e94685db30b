"""``python -m orderprobe``: the ``orderprobe`` command."""

import sys

from orderprobe.cli import main

sys.exit(main())

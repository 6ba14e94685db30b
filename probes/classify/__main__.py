"""``python -m orderprobe.probes.classify [--rules FILE]… [failure.json …]``."""

import sys

from orderprobe.probes.classify.classifier import main

sys.exit(main())

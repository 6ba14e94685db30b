"""``python -m probes.classify [--rules FILE]… [failure.json …]``."""

import sys

from probes.classify.classifier import main

sys.exit(main())

"""``python -m shared.grading``."""

import sys

from shared.grading.cli import main

sys.exit(main())

"""``python -m neurocine`` runs the CLI."""

import sys

from neurocine.cli import main

sys.exit(main())

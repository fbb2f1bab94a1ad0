"""`python -m maskgmt ...` runs the CLI."""

import sys

from maskgmt.cli import main

sys.exit(main())

"""`python -m tfdefend` runs the `tfdefend` command."""

import sys

from tfdefend.cli.main import main

sys.exit(main())

"""`python -m lpgnas.cli`: the same as the `lpgnas-hw` console script."""

import sys

from lpgnas.cli import main

sys.exit(main())

"""`python -m dawg_provider ...`: the `dawg` command without its console script."""

import sys

from .cli import main

sys.exit(main())

"""`python -m journeydb ...`: the `journeydb` command."""

import sys

from journeydb.cli.main import main

sys.exit(main())

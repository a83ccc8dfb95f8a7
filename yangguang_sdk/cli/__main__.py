"""``python -m yangguang_sdk.cli``: the ``yangguang`` command without its console script."""

import sys

from . import main

sys.exit(main())

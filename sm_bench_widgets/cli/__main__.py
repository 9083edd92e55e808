"""``python -m sm_bench_widgets.cli``: the ``sm-bench`` command without the console script."""

import sys

from sm_bench_widgets.cli import main

sys.exit(main())

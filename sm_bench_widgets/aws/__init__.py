"""Everything that talks to AWS (or the local emulator) goes through this package."""

from sm_bench_widgets.aws.clients import Target

__all__ = ["Target"]

"""One-line errors for every ``sm-bench`` command: ``PROG: error: REASON`` on stderr."""

from __future__ import annotations

import argparse
import sys


def fail(prog: str, message: object, code: int = 1) -> int:
    """Print ``message`` as one line on stderr and return the exit ``code``."""
    text = " ".join(str(message).split())
    print(f"{prog}: error: {text}", file=sys.stderr)
    return code


def one_line_errors(parser: argparse.ArgumentParser) -> None:
    """Make the parser's errors one line on stderr (exit 2), naming the option."""

    def error(message: str) -> None:
        raise SystemExit(fail(parser.prog, message, 2))

    parser.error = error  # type: ignore[method-assign]

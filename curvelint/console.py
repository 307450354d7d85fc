"""What the commands say on stderr, and the exit statuses (shared by the lint, watch and rule commands)."""

from __future__ import annotations

import sys
from typing import NoReturn

import click

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


def say(message: str) -> None:
    """One line on stderr; file names in it cannot drive the terminal (`printable`)."""
    from curvelint.reporters.escape import printable

    click.echo(printable(f"curvelint: {message}"), err=True)


def fail(message: str) -> NoReturn:
    """An error line on stderr, then exit status 2."""
    say(f"error: {message}")
    sys.exit(EXIT_USAGE)

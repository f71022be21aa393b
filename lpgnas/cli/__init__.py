"""The `lpgnas-hw` command line: argument parsing, the commands and their text reports."""

from lpgnas.cli.program import main

__all__ = ["main"]

"""What every `stf` command shares: the exit statuses, the usage error and reading an input file.

Exit statuses (ARCHITECTURE.md): 0 success, 2 bad input or usage (one `error: …` line on stderr,
nothing generated), 1 internal error, 3 a video that ended PARTIAL, 4 one that ended FAILED or
CANCELLED, 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

from pathlib import Path

from script_to_film.domain.errors import InvalidInputError

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3
EXIT_FAILED = 4
EXIT_INTERRUPTED = 130

EXIT_BY_STATUS = {
    "SUCCEEDED": EXIT_OK,
    "PARTIAL": EXIT_PARTIAL,
    "FAILED": EXIT_FAILED,
    "CANCELLED": EXIT_FAILED,
}


class UsageError(InvalidInputError):
    """The command line itself is wrong."""


def read_input_file(path: Path) -> bytes:
    """A file named on the command line, or a `UsageError` saying why it cannot be read."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory, not a file") from None
    except PermissionError:
        raise UsageError(f"{path}: permission denied") from None

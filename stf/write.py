"""`stf write PROMPT`: have Claude write a Fountain screenplay (`script_to_film.adapters.claude`).

The writer's errors, and the exit status each gives:

| error                     | cause                                              | exit |
|---------------------------|----------------------------------------------------|------|
| `ConfigurationError`      | no API key, or the key was refused                 | 2    |
| `RetiredModelError`       | a model past (or at) its end of life was asked for | 2    |
| `WriterRequestError`      | the API refused the request (unknown model…)       | 2    |
| `WriterRefusedError`      | Claude declined to write it (stop reason refusal)  | 2    |
| `WriterOutputError`       | still no usable screenplay after the repair        | 2    |
| `WriterUnavailableError`  | overloaded, rate limited or unreachable after the  | 75   |
|                           | SDK's own retries: nothing wrong with the request  |      |

75 is `EX_TEMPFAIL` from BSD's sysexits.h, the conventional "temporary failure, try again later":
a script that calls `stf write` can tell it apart from bad input (2, the same call fails again)
and from a bug (1).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Final

from script_to_film.adapters.claude import write_screenplay
from script_to_film.domain.errors import WriterOutputError, WriterUnavailableError
from script_to_film.domain.screenwriting import DEFAULT_CLAUDE_MODEL, MODEL_ENV, WriteRequest
from stf.usage import EXIT_OK, EXIT_USAGE, UsageError

EXIT_UNAVAILABLE: Final = 75
"""`stf write`'s exit status when Claude cannot be reached or is overloaded (EX_TEMPFAIL)."""


def add_write_command(commands: argparse._SubParsersAction[Any]) -> None:
    """Add `stf write PROMPT [--genre G] [--duration S] [--tone T] [--out FILE] [--model M]`."""
    write = commands.add_parser("write", help="have Claude write a Fountain screenplay from an idea")
    write.add_argument("prompt", help="the story idea, in a sentence or a few (3–2000 characters)")
    write.add_argument("--genre", help="e.g. drama, thriller, comedy")
    write.add_argument(
        "--duration", type=int, default=60, metavar="S", help="screen time in seconds, 15–600 (default 60)"
    )
    write.add_argument("--tone", help="e.g. bittersweet, tense, playful")
    write.add_argument("--out", type=Path, metavar="FILE", help="write the screenplay here (default: stdout)")
    write.add_argument("--model", help=f"Claude model (default: ${MODEL_ENV}, else {DEFAULT_CLAUDE_MODEL})")
    write.set_defaults(command=_write)


def _write(args: argparse.Namespace) -> int:
    """Bad input, a missing key and a refusal reach the CLI's own handler (exit 2); the writer's
    two errors that are not the caller's input are reported here."""
    request = WriteRequest(
        prompt=args.prompt, genre=args.genre, duration_seconds=args.duration, tone=args.tone
    )
    out: Path | None = args.out
    # Checked before Claude is paid: a screenplay that cannot be saved is money thrown away.
    if out is not None and (out.is_dir() or not out.parent.is_dir()):
        raise UsageError(f"{out}: cannot write there ({'a directory' if out.is_dir() else 'no such folder'})")
    try:
        written = write_screenplay(request, model=args.model)
    except WriterUnavailableError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except WriterOutputError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    if out is None:
        sys.stdout.write(written.text)
        sys.stdout.flush()
    else:
        out.write_text(written.text, encoding="utf-8")
    where = f" → {out}" if out is not None else ""
    title = f"“{written.title}”" if written.title else "untitled"
    tokens = written.usage.input_tokens + written.usage.output_tokens
    print(
        f"{title}: {written.scene_count} scenes, about {written.estimated_seconds} s of screen time "
        f"({written.model}, {tokens:,} tokens{', after one repair' if written.requests > 1 else ''}){where}",
        file=sys.stderr,
    )
    return EXIT_OK

"""`stf`: the command line of Script-to-Film: its parser, and the light commands (`breakdown`,
`estimate`).

Each other command lives in a module of its own (`stf.run`, `stf.write`, `stf.batch`,
`stf.serve`); what they share (the exit statuses, the usage error) is in `stf.usage`. Tables go
to stdout; `--json` prints the contract instead.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from pydantic import ValidationError

from script_to_film import __version__
from script_to_film.domain.coverage import FULL, MAX_SHOTS_PER_SCENE, Length
from script_to_film.domain.errors import ConfigurationError, InvalidInputError, InvalidOptionError
from stf.run import run_command
from stf.usage import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UsageError, read_input_file


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake as one `error:` line, like every other bad input."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
        command: Callable[[argparse.Namespace], int] = args.command
        return command(args)
    except (InvalidInputError, ConfigurationError) as exc:
        return _fail(str(exc), EXIT_USAGE)
    except ValidationError as exc:
        return _fail(_validation_message(exc), EXIT_USAGE)
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_INTERRUPTED)
    except Exception as exc:  # the last resort: one line, never a traceback, for a person at a terminal
        return _fail(f"internal error: {type(exc).__name__}: {exc}", EXIT_INTERNAL)


def _validation_message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "input"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"


def _fail(message: str, status: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    return status


def _build_parser() -> argparse.ArgumentParser:
    from script_to_film.adapters.providers.registry import available_providers
    from script_to_film.domain.catalog import DEFAULT_MODEL
    from script_to_film.domain.director import DEFAULT_STYLE
    from stf.serve import add_serve_command
    from stf.write import add_write_command

    parser = _Parser(prog="stf", description="Turn a screenplay into a short film.")
    parser.add_argument("--version", action="version", version=f"stf {__version__}")
    commands = parser.add_subparsers(title="commands", required=True, parser_class=_Parser)

    breakdown = commands.add_parser("breakdown", help="break a Fountain screenplay into scenes and shots")
    breakdown.add_argument("file", type=Path, help="a Fountain screenplay (.fountain)")
    breakdown.add_argument("--model", default=DEFAULT_MODEL, help=f"video model (default {DEFAULT_MODEL})")
    breakdown.add_argument("--style", default=DEFAULT_STYLE, help=f"style preset (default {DEFAULT_STYLE})")
    breakdown.add_argument("--ratio", help="output ratio, e.g. 1280:720 (default: the model's)")
    _add_cut_options(breakdown)
    breakdown.add_argument("--prompts", action="store_true", help="print each shot's full prompt too")
    breakdown.add_argument("--json", action="store_true", help="print the breakdown contract as JSON")
    breakdown.set_defaults(command=_breakdown)

    estimate = commands.add_parser("estimate", help="estimate what filming a screenplay costs")
    estimate.add_argument("file", type=Path, help="a Fountain screenplay (.fountain)")
    estimate.add_argument("--model", default=DEFAULT_MODEL, help=f"video model (default {DEFAULT_MODEL})")
    _add_cut_options(estimate)
    estimate.add_argument("--max-budget-usd", type=float, help="fail (exit 2) when the estimate is over this")
    estimate.add_argument("--json", action="store_true", help="print the estimate as JSON")
    estimate.set_defaults(command=_estimate)

    run = commands.add_parser("run", help="make the film on the embedded local stack (no AWS account needed)")
    run.add_argument("file", type=Path, help="a Fountain screenplay (.fountain)")
    run.add_argument("--provider", default="animatic", choices=available_providers(), help="video provider")
    run.add_argument("--model", help="video model (default: the provider's)")
    run.add_argument("--style", default=DEFAULT_STYLE, help=f"style preset (default {DEFAULT_STYLE})")
    run.add_argument(
        "--out", type=output_folder, default="data/output", help="where films go (default data/output)"
    )
    run.add_argument(
        "--poll-seconds",
        type=_positive_int,
        help="seconds between status polls (default: animatic 1, runway 10)",
    )
    run.add_argument(
        "--scene-timeout", type=_positive_int, default=300, help="seconds before a scene gives up"
    )
    run.add_argument("--scenes", type=_scene_list, help="only these scenes, e.g. 1,3,5-7")
    _add_cut_options(run)
    run.add_argument("--max-budget-usd", type=float, help="refuse to start when the estimate is over this")
    run.add_argument(
        "--voice",
        type=_voice,
        action="append",
        metavar="NAME=VOICE",
        help="a character's voice, e.g. MARA=en-f-2 or MARA=Maya (repeatable; default: from the screenplay)",
    )
    run.add_argument("--json", action="store_true", help="print the manifest as JSON")
    run.set_defaults(command=run_command)

    add_write_command(commands)

    batch = commands.add_parser(
        "batch",
        help="film several screenplays as dropping them into the bucket's incoming/ does (local stack)",
    )
    batch.add_argument("files", nargs="+", type=Path, help=".fountain screenplays and .json batch manifests")
    batch.add_argument("--provider", choices=available_providers(), help="video provider (default animatic)")
    batch.add_argument("--model", help="video model (default: the provider's)")
    batch.add_argument("--style", help=f"style preset (default {DEFAULT_STYLE})")
    batch.add_argument(
        "--out", type=output_folder, default="data/output", help="where films go (default data/output)"
    )
    batch.add_argument(
        "--poll-seconds",
        type=_positive_int,
        help="seconds between status polls (default: animatic 1, runway 10)",
    )
    batch.add_argument(
        "--scene-timeout", type=_positive_int, help="seconds before a scene gives up (default 300)"
    )
    batch.add_argument("--max-budget-usd", type=float, help="refuse any screenplay estimated over this")
    batch.add_argument("--json", action="store_true", help="print the batch summaries as JSON")
    batch.set_defaults(command=_batch)

    add_serve_command(commands)
    return parser


def _add_cut_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--length",
        type=_length,
        default=FULL,
        help="full (default: each shot as long as what it carries), short (a condensed cut) or the "
        "film's length in seconds",
    )
    command.add_argument(
        "--max-shots", type=_max_shots, help=f"the most shots a scene is cut into (1-{MAX_SHOTS_PER_SCENE})"
    )


def _length(text: str) -> Length:
    try:
        return Length.parse(text)
    except InvalidOptionError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _max_shots(text: str) -> int:
    value = _positive_int(text)
    if value > MAX_SHOTS_PER_SCENE:
        raise argparse.ArgumentTypeError(f"{text!r}: a scene is cut into at most {MAX_SHOTS_PER_SCENE} shots")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def output_folder(text: str) -> Path:
    """A folder the films can be written to: one that exists, or that can be made, and is
    writable. Checked when the command line is read, so that a bad `--out` is refused before
    anything is made rather than after the film (nothing is created here)."""
    path = Path(text)
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        where = "is a file" if existing == path else f"{existing} is a file"
        raise argparse.ArgumentTypeError(f"{text}: {where}, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"{text}: cannot write there (permission denied on {existing})")
    return path


def _voice(text: str) -> tuple[str, str]:
    """`MARA=en-f-2` → ("MARA", "en-f-2"), the voice checked against the catalogue."""
    from script_to_film.domain import casting
    from script_to_film.domain.errors import InvalidOptionError

    name, equals, voice = (part.strip() for part in text.partition("="))
    if not equals or not name or not voice:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VOICE, e.g. MARA=en-f-2")
    try:
        casting.voice(voice)
    except InvalidOptionError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return name, voice


def _scene_list(text: str) -> list[int]:
    """`1,3,5-7` → [1, 3, 5, 6, 7]."""
    numbers: list[int] = []
    try:
        for part in filter(None, (p.strip() for p in text.split(","))):
            first, _, last = part.partition("-")
            start, end = int(first), int(last or first)
            if start < 1 or end < start:
                raise ValueError(part)
            numbers.extend(range(start, end + 1))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of scene numbers like 1,3,5-7") from None
    if not numbers:
        raise argparse.ArgumentTypeError("no scene numbers given")
    return numbers


def _breakdown(args: argparse.Namespace) -> int:
    from script_to_film.domain import breakdown
    from stf import report

    plan = breakdown.plan(
        read_input_file(args.file),
        model=args.model,
        style=args.style,
        ratio=args.ratio,
        length=args.length,
        max_shots=args.max_shots,
    )
    if args.json:
        print(plan.to_breakdown().model_dump_json(indent=2))
    else:
        report.breakdown_table(plan, prompts=args.prompts)
    return EXIT_OK


def _estimate(args: argparse.Namespace) -> int:
    from script_to_film.domain import breakdown, cost
    from stf import report

    plan = breakdown.plan(
        read_input_file(args.file), model=args.model, length=args.length, max_shots=args.max_shots
    )
    cost.check_budget(plan.estimate, args.max_budget_usd)
    if args.json:
        print(plan.estimate.model_dump_json(indent=2))
    else:
        report.estimate_table(plan)
    return EXIT_OK


def _batch(args: argparse.Namespace) -> int:
    # Imported when the command runs: the batch code costs a tenth of a second to import.
    from stf.batch import run_batch

    return run_batch(args)

"""`stf run FILE`: make the film on the embedded local stack, then copy it to `--out`.

Ctrl-C during `stf run` cancels the video (the workflow stops, the provider's tasks are cancelled)
and keeps what was made: the clips already stored and the manifest go to `--out/<video_id>/` as
at the end of a run, stderr says so, and the exit status is 130, the shell's for an interrupt, so
that a script can tell a run stopped by hand from one that failed (4). A second Ctrl-C stops at once.
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING

from stf.usage import EXIT_BY_STATUS, EXIT_INTERNAL, EXIT_INTERRUPTED, read_input_file

if TYPE_CHECKING:
    from infra.local.stack import LocalStack
    from script_to_film.domain.models import VideoRecord


def run_command(args: argparse.Namespace) -> int:
    import json

    from script_to_film.domain.options import VideoOptions
    from script_to_film.services.submission import prepare, start_video
    from stf import report

    options = VideoOptions(
        provider=args.provider,
        model=args.model,
        style=args.style,
        scenes=args.scenes,
        poll_seconds=args.poll_seconds,
        scene_timeout_seconds=args.scene_timeout,
        max_budget_usd=args.max_budget_usd,
        length=str(args.length),
        max_shots=args.max_shots,
        voices=dict(args.voice) if args.voice else None,
    )
    source = read_input_file(args.file)
    prepare(source, options)  # bad input is refused here, before the stack starts or anything is made
    if options.provider == "runway":
        from script_to_film.adapters.secrets import runway_api_key

        runway_api_key()  # a missing key is exit 2 now, not a FAILED scene per scene later

    from infra.local.stack import LocalStack
    from script_to_film.domain.manifest import build_manifest

    interrupted = threading.Event()
    with LocalStack() as stack:
        with _ctrl_c_sets(interrupted):
            video = start_video(stack.backend, source, options)
            with report.RunProgress(video) as progress:
                final = stack.wait(video, on_progress=progress.update, stop=interrupted)
        if interrupted.is_set():
            final = _cancel_and_settle(stack, final)
        folder = stack.export(final, args.out)
    manifest = build_manifest(final, execution=final.execution_arn)
    if args.json:
        print(json.dumps(manifest, indent=2))
    if interrupted.is_set():
        report.interrupted_summary(final, folder)
        return EXIT_INTERRUPTED
    if not args.json:
        report.run_summary(final, folder)
    return EXIT_BY_STATUS.get(final.status.value, EXIT_INTERNAL)


SETTLE_SECONDS = 60
"""How long an interrupted run waits for the workflow to stop and a clip being stored to land."""


@contextmanager
def _ctrl_c_sets(interrupted: threading.Event) -> Iterator[None]:
    """Ctrl-C (SIGINT) sets `interrupted` instead of raising KeyboardInterrupt wherever the main
    thread happens to be (inside a call into the local stack, it would leave moto's lock held)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: interrupted.set())
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _cancel_and_settle(stack: LocalStack, video: VideoRecord) -> VideoRecord:
    """Cancel an interrupted video and wait (a bounded time) until nothing of it runs any more."""
    from script_to_film.services import videos

    # A video that ended meanwhile keeps all it made; one that will not stop keeps what there is.
    with suppress(videos.VideoFinishedError):
        videos.cancel(stack.backend, video.id)
    with suppress(TimeoutError):
        stack.wait(video, timeout=SETTLE_SECONDS)
    stack.wait_for_handlers(SETTLE_SECONDS)
    return stack.backend.videos.get(video.id)

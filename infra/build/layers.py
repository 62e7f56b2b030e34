"""Build the Lambda layers without Docker: `make layers`, or `python -m infra.build.layers`.

* deps: `pip install --platform … --only-binary=:all: --python-version 3.13 --implementation cp
  --target <layer>/python -r layers/deps/requirements.txt`: binary wheels for Lambda's Python and
  architecture, whatever machine builds them.
* ffmpeg: the imageio-ffmpeg wheel of the target platform, downloaded (never installed); its
  static ffmpeg becomes `bin/ffmpeg` (`/opt/bin/ffmpeg` on Lambda) and its small Python package
  `python/imageio_ffmpeg`, so `import imageio_ffmpeg` works and IMAGEIO_FFMPEG_EXE points at the
  binary.
* core: `script_to_film` copied under `python/` at synth time (`copy_core`, through CDK's local
  bundling), because it changes with every commit and needs no download.

Each downloaded layer lands in `build/layers/<name>-<arch>-<hash of its inputs>/`, so
`cdk synth` finds it offline, a changed requirements file gets a fresh folder, and a half-built
folder is never picked up (it is built beside and renamed into place). Then the sizes are
measured against Lambda's 250 MB limit for a function with all its layers, unzipped.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import get_args

from infra.constants import (
    ARCHITECTURE,
    CORE_LAYER_DIR,
    CORE_PACKAGE,
    DEPS_REQUIREMENTS,
    FFMPEG_REQUIREMENTS,
    FUNCTIONS,
    FUNCTIONS_DIR,
    LAMBDA_UNZIPPED_LIMIT_BYTES,
    LAYER_BUILD_DIR,
    MACHINE,
    PYTHON_VERSION,
    Architecture,
)

RECIPE_VERSION = "1"
"""Part of every layer folder's hash: bump it when the way a layer is built changes."""
LAMBDA_GLIBC_MINOR = 34
"""Lambda's Python 3.13 runtime is Amazon Linux 2023, glibc 2.34: any manylinux_2_17 (manylinux2014)
to manylinux_2_34 wheel runs there. pip does not widen an explicit `--platform`, so all are named."""
PY_TAG = f"py{PYTHON_VERSION.replace('.', '')}"
"""In folder names: a dot would read as a file extension to CDK's asset staging."""
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
PLACEHOLDER_NOTE = (
    "Placeholder layer, synthesised with -c stf:layers=placeholder for tests and template checks.\n"
    "A stack built with it cannot run: build the real layers with `make layers` before deploying.\n"
)


class LayerBuildError(RuntimeError):
    """A layer could not be built as asked (a download or an archive is not what was expected)."""


def platform_tags(architecture: Architecture) -> list[str]:
    machine = MACHINE[architecture]
    newest_first = range(LAMBDA_GLIBC_MINOR, 16, -1)
    return [f"manylinux_2_{minor}_{machine}" for minor in newest_first] + [f"manylinux2014_{machine}"]


def pip_platform_options(architecture: Architecture) -> list[str]:
    """What makes pip choose Lambda's wheels rather than the build machine's."""
    options: list[str] = []
    for tag in platform_tags(architecture):
        options += ["--platform", tag]
    return [*options, "--only-binary=:all:", "--python-version", PYTHON_VERSION, "--implementation", "cp"]


def _input_key(architecture: Architecture, requirements: Path) -> str:
    digest = hashlib.sha256()
    for part in (RECIPE_VERSION, PYTHON_VERSION, architecture, *platform_tags(architecture)):
        digest.update(part.encode() + b"\0")
    digest.update(requirements.read_bytes())
    return digest.hexdigest()[:16]


def deps_layer_dir(architecture: Architecture = ARCHITECTURE) -> Path:
    key = _input_key(architecture, DEPS_REQUIREMENTS)
    return LAYER_BUILD_DIR / f"deps-{PY_TAG}-{architecture}-{key}"


def ffmpeg_layer_dir(architecture: Architecture = ARCHITECTURE) -> Path:
    key = _input_key(architecture, FFMPEG_REQUIREMENTS)
    return LAYER_BUILD_DIR / f"ffmpeg-{architecture}-{key}"


def placeholder_layer_dir() -> Path:
    """An asset folder that stands in for a downloaded layer (see PLACEHOLDER_NOTE)."""
    folder = LAYER_BUILD_DIR / "placeholder"
    note = folder / "PLACEHOLDER.txt"
    if not note.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        note.write_text(PLACEHOLDER_NOTE, encoding="utf-8")
    return folder


@contextmanager
def _staging(final: Path) -> Iterator[Path]:
    """A scratch folder beside `final`, renamed to it only if the build inside succeeds."""
    final.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=final.parent))
    work.chmod(0o755)  # mkdtemp's 0700 would travel into the layer's zip
    try:
        yield work
        work.rename(final)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _prune_siblings(final: Path, prefix: str) -> None:
    """Drop the folders older requirements built: each holds up to 170 MB."""
    for sibling in final.parent.glob(f"{prefix}*"):
        if sibling != final and sibling.is_dir():
            shutil.rmtree(sibling)


def _pip(*arguments: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *arguments], check=True)


def build_deps(architecture: Architecture = ARCHITECTURE) -> Path:
    final = deps_layer_dir(architecture)
    if final.is_dir():
        return final
    with _staging(final) as work:
        # No .pyc: the build machine's Python would compile them for its own version, not 3.13.
        _pip(
            "install",
            "--quiet",
            "--no-compile",
            *pip_platform_options(architecture),
            "--target",
            str(work / "python"),
            "-r",
            str(DEPS_REQUIREMENTS),
        )
        # Console scripts pip wrote for the build machine; nothing on Lambda runs them.
        shutil.rmtree(work / "python" / "bin", ignore_errors=True)
    _prune_siblings(final, f"deps-{PY_TAG}-{architecture}-")
    return final


def build_ffmpeg(architecture: Architecture = ARCHITECTURE) -> Path:
    final = ffmpeg_layer_dir(architecture)
    if final.is_dir():
        return final
    with tempfile.TemporaryDirectory(prefix="stf-ffmpeg-wheel-") as download, _staging(final) as work:
        _pip(
            "download",
            "--quiet",
            "--no-deps",
            *pip_platform_options(architecture),
            "--dest",
            download,
            "-r",
            str(FFMPEG_REQUIREMENTS),
        )
        wheels = sorted(Path(download).glob("imageio_ffmpeg-*.whl"))
        if len(wheels) != 1:
            raise LayerBuildError(f"expected one imageio-ffmpeg wheel, pip downloaded {wheels}")
        extract_ffmpeg(wheels[0], work, architecture)
    _prune_siblings(final, f"ffmpeg-{architecture}-")
    return final


def extract_ffmpeg(wheel: Path, layer: Path, architecture: Architecture) -> Path:
    """Cut the layer out of an imageio-ffmpeg wheel: the binary, the Python package, the licence."""
    binary_prefix = f"imageio_ffmpeg/binaries/ffmpeg-linux-{MACHINE[architecture]}"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        binaries = [name for name in names if name.startswith(binary_prefix)]
        if len(binaries) != 1:
            raise LayerBuildError(f"{wheel.name} holds {binaries or 'no'} {binary_prefix}* binary")
        executable = layer / "bin" / "ffmpeg"
        executable.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(binaries[0]) as source, executable.open("wb") as target:
            shutil.copyfileobj(source, target, length=1 << 20)
        executable.chmod(0o755)
        for name in names:
            if name.startswith("imageio_ffmpeg/") and name.endswith(".py"):
                _extract_member(archive, name, layer / "python" / name)
            elif name.endswith("/LICENSE") or name == "imageio_ffmpeg/binaries/README.md":
                _extract_member(archive, name, layer / "licenses" / "imageio-ffmpeg" / Path(name).name)
    return executable


def _extract_member(archive: zipfile.ZipFile, name: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(archive.read(name))


def copy_core(python_dir: Path) -> Path:
    """The core layer's content: `script_to_film` (code, fonts, py.typed) under `python/`."""
    target = python_dir / CORE_PACKAGE
    shutil.copytree(CORE_LAYER_DIR / CORE_PACKAGE, target, ignore=IGNORED, dirs_exist_ok=True)
    return target


def tree_size(folder: Path) -> int:
    """Bytes of the files under `folder`, as Lambda counts an unzipped package."""
    total = 0
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d != "__pycache__" and not d.endswith(".egg-info")]
        total += sum((Path(root) / name).lstat().st_size for name in files if not name.endswith(".pyc"))
    return total


def measure(parts: dict[str, Path]) -> dict[str, int]:
    return {name: tree_size(folder) for name, folder in parts.items()}


def report(sizes: dict[str, int]) -> tuple[str, int]:
    """A table of the sizes, and the unzipped size of the largest function (an ffmpeg one)."""
    mib = 1024 * 1024
    largest = sum(sizes.values())
    ffmpeg_functions = ", ".join(name for name, spec in FUNCTIONS.items() if spec.ffmpeg)
    lines = [f"{name:<10} {size / mib:8.1f} MiB" for name, size in sizes.items()]
    lines.append(
        f"largest function ({ffmpeg_functions}): {largest / mib:.1f} MiB unzipped "
        f"of Lambda's {LAMBDA_UNZIPPED_LIMIT_BYTES / mib:.0f} MiB"
    )
    return "\n".join(lines), largest


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.build.layers", description=__doc__.split("\n")[0])
    parser.add_argument("--architecture", choices=get_args(Architecture), default=ARCHITECTURE)
    args = parser.parse_args(argv)
    deps, ffmpeg = build_deps(args.architecture), build_ffmpeg(args.architecture)
    with tempfile.TemporaryDirectory(prefix="stf-core-layer-") as core:
        copy_core(Path(core) / "python")
        table, largest = report(
            measure({"functions": FUNCTIONS_DIR, "core": Path(core), "deps": deps, "ffmpeg": ffmpeg})
        )
    print(f"layers for Python {PYTHON_VERSION} on {args.architecture}:\n  deps   {deps}\n  ffmpeg {ffmpeg}")
    print(table)
    if largest > LAMBDA_UNZIPPED_LIMIT_BYTES:
        print("error: the largest function is over Lambda's unzipped size limit", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

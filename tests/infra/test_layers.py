"""The Lambda layers: how they are cut and pinned (offline), and what `make layers` built (when it has)."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import infra.build.layers as layers
from infra.constants import (
    ARCHITECTURE,
    DEPS_REQUIREMENTS,
    FFMPEG_LAYER_PATH,
    FFMPEG_REQUIREMENTS,
    LAMBDA_UNZIPPED_LIMIT_BYTES,
    MACHINE,
    PYTHON_VERSION,
)

ELF_MACHINE = {"arm64": 0xB7, "x86_64": 0x3E}
"""e_machine of an ELF header: what a binary was built for."""
NOT_AT_RUNTIME = {"moto", "rich", "imageio-ffmpeg", "pytest", "hypothesis", "schemathesis", "aws-cdk-lib"}


def pins(requirements: Path) -> dict[str, str]:
    found = {}
    for line in requirements.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==(\S+)", line.strip())
        if match:
            found[match.group(1).lower().replace("_", "-")] = match.group(2)
    return found


def fake_wheel(path: Path, machine: str) -> Path:
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr("imageio_ffmpeg/__init__.py", "from ._utils import get_ffmpeg_exe\n")
        wheel.writestr("imageio_ffmpeg/_utils.py", "def get_ffmpeg_exe():\n    return 'x'\n")
        wheel.writestr("imageio_ffmpeg/binaries/__init__.py", "")
        wheel.writestr("imageio_ffmpeg/binaries/README.md", "Binaries from static builds.\n")
        wheel.writestr(f"imageio_ffmpeg/binaries/ffmpeg-linux-{machine}-v9.0.2", b"\x7fELF fake ffmpeg")
        wheel.writestr("imageio_ffmpeg-0.8.1.dist-info/licenses/LICENSE", "BSD 2-Clause\n")
        wheel.writestr("imageio_ffmpeg-0.8.1.dist-info/RECORD", "")
    return path


# Offline: how layers are made ------------------------------------------------------------------------


def test_pip_is_asked_for_lambdas_python_and_architecture() -> None:
    options = layers.pip_platform_options("arm64")
    platforms = [options[i + 1] for i, option in enumerate(options) if option == "--platform"]
    assert "manylinux2014_aarch64" in platforms, "the usual wheels (pydantic-core)"
    assert "manylinux_2_28_aarch64" in platforms, "imageio-ffmpeg 0.8.1 is manylinux_2_28"
    assert "manylinux_2_34_aarch64" in platforms and "manylinux_2_35_aarch64" not in platforms, "AL2023"
    assert all(platform.endswith("_aarch64") for platform in platforms)
    assert options[-5:] == [
        "--only-binary=:all:",
        "--python-version",
        PYTHON_VERSION,
        "--implementation",
        "cp",
    ]
    assert all(p.endswith("_x86_64") for p in layers.platform_tags("x86_64"))


def test_the_ffmpeg_layer_is_cut_from_the_wheel(tmp_path: Path) -> None:
    wheel = fake_wheel(tmp_path / "imageio_ffmpeg-0.8.1-py3-none-manylinux_2_28_aarch64.whl", "aarch64")
    layer = tmp_path / "layer"
    executable = layers.extract_ffmpeg(wheel, layer, "arm64")
    assert executable == layer / "bin" / "ffmpeg"
    assert Path(FFMPEG_LAYER_PATH).relative_to("/opt") == executable.relative_to(layer)
    assert executable.read_bytes() == b"\x7fELF fake ffmpeg"
    assert os.access(executable, os.X_OK)
    package = layer / "python" / "imageio_ffmpeg"
    assert sorted(p.name for p in package.glob("*.py")) == ["__init__.py", "_utils.py"]
    assert (package / "binaries" / "__init__.py").is_file(), "importable, without the binary in it"
    assert not list(package.glob("binaries/ffmpeg-*"))
    assert (layer / "licenses" / "imageio-ffmpeg" / "LICENSE").read_text() == "BSD 2-Clause\n"


def test_a_wheel_for_another_machine_is_refused(tmp_path: Path) -> None:
    wheel = fake_wheel(tmp_path / "imageio_ffmpeg-x86.whl", "x86_64")
    with pytest.raises(layers.LayerBuildError, match="aarch64"):
        layers.extract_ffmpeg(wheel, tmp_path / "layer", "arm64")


def test_a_changed_requirements_file_gets_a_fresh_layer_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("pydantic==2.14.4\n")
    monkeypatch.setattr(layers, "DEPS_REQUIREMENTS", requirements)
    first = layers.deps_layer_dir("arm64")
    assert first != layers.deps_layer_dir("x86_64")
    requirements.write_text("pydantic==2.14.5\n")
    assert layers.deps_layer_dir("arm64") != first
    assert "." not in first.name, "CDK would read a dot as the asset's file extension"


def test_the_core_layer_is_the_package_under_python(tmp_path: Path) -> None:
    package = layers.copy_core(tmp_path / "python")
    assert package == tmp_path / "python" / "script_to_film"
    assert (package / "domain" / "screenplay.py").is_file() and (package / "py.typed").is_file()
    assert list(package.glob("adapters/fonts/*.ttf")), "the animatic's fonts travel with the code"
    assert not list(package.rglob("__pycache__")) and not list(package.rglob("*.egg-info"))
    assert [path.name for path in (tmp_path / "python").iterdir()] == ["script_to_film"], "nothing else"
    assert not list(package.rglob("cli.py")), "the command line is not in the layer"


def test_deps_are_pinned_to_what_the_project_is_tested_with() -> None:
    pinned = pins(DEPS_REQUIREMENTS)
    assert not NOT_AT_RUNTIME & set(pinned), "only what Lambda imports"
    for name, version in pinned.items():
        assert importlib.metadata.version(name) == version, f"{name} in the layer and in .venv differ"
    assert pins(FFMPEG_REQUIREMENTS) == {"imageio-ffmpeg": importlib.metadata.version("imageio-ffmpeg")}


def test_the_size_report_adds_every_part() -> None:
    mib = 1024 * 1024
    text, largest = layers.report(
        {"functions": 1 * mib, "core": 2 * mib, "deps": 48 * mib, "ffmpeg": 125 * mib}
    )
    assert largest == 176 * mib
    assert "176.0 MiB" in text and "250 MiB" in text


# What `make layers` built: checked when it is there ------------------------------------------------

deps_built = pytest.mark.skipif(
    not layers.deps_layer_dir().is_dir(), reason="`make layers` has not built the deps layer"
)
ffmpeg_built = pytest.mark.skipif(
    not layers.ffmpeg_layer_dir().is_dir(), reason="`make layers` has not built the ffmpeg layer"
)


@ffmpeg_built
def test_the_built_ffmpeg_is_for_the_stacks_architecture() -> None:
    header = (layers.ffmpeg_layer_dir() / "bin" / "ffmpeg").read_bytes()[:20]
    assert header[:4] == b"\x7fELF"
    assert int.from_bytes(header[18:20], "little") == ELF_MACHINE[ARCHITECTURE]


@ffmpeg_built
def test_the_built_imageio_ffmpeg_returns_the_layers_binary() -> None:
    """What `script_to_film.adapters.media` relies on: IMAGEIO_FFMPEG_EXE wins over every other lookup."""
    python_dir = layers.ffmpeg_layer_dir() / "python"
    probe = "import imageio_ffmpeg; print(imageio_ffmpeg.__file__); print(imageio_ffmpeg.get_ffmpeg_exe())"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, "PYTHONPATH": str(python_dir), "IMAGEIO_FFMPEG_EXE": FFMPEG_LAYER_PATH},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    module_file, exe = result.stdout.split()
    assert Path(module_file).is_relative_to(python_dir)
    assert exe == FFMPEG_LAYER_PATH


@deps_built
def test_the_built_deps_are_lambdas_wheels_and_nothing_else() -> None:
    python_dir = layers.deps_layer_dir() / "python"
    (core,) = python_dir.glob("pydantic_core/_pydantic_core.*.so")
    assert f"cpython-{PYTHON_VERSION.replace('.', '')}" in core.name
    assert MACHINE[ARCHITECTURE] in core.name
    installed = {p.name.split("-")[0].lower().replace("_", "-") for p in python_dir.glob("*.dist-info")}
    assert not NOT_AT_RUNTIME & installed
    assert set(pins(DEPS_REQUIREMENTS)) <= installed
    assert not (python_dir / "bin").exists()
    assert not list(python_dir.rglob("*.pyc"))


@deps_built
@ffmpeg_built
def test_the_largest_function_fits_lambdas_unzipped_limit(tmp_path: Path) -> None:
    core = layers.copy_core(tmp_path / "python")
    sizes = layers.measure(
        {
            "functions": layers.FUNCTIONS_DIR,
            "core": core,
            "deps": layers.deps_layer_dir(),
            "ffmpeg": layers.ffmpeg_layer_dir(),
        }
    )
    _, largest = layers.report(sizes)
    assert largest < LAMBDA_UNZIPPED_LIMIT_BYTES

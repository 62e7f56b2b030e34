"""The three Lambda layers, built for one Python version and one architecture, without Docker.

core   `script_to_film` from layers/core, copied under `python/` at synth (CDK local bundling;
       re-copied only when its files change)
deps   the third-party packages, from the folder `make layers` built with pip
ffmpeg the ffmpeg binary at /opt/bin/ffmpeg and the imageio_ffmpeg package, from `make layers`

With the context `stf:layers=placeholder` the deps and ffmpeg layers are an empty stand-in folder,
so tests and `make lint` synthesise offline and fast; such a stack must not be deployed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.build.layers import copy_core, deps_layer_dir, ffmpeg_layer_dir, placeholder_layer_dir
from infra.constants import ARCHITECTURE, CORE_LAYER_DIR, Architecture, LayerMode

RUNTIME = lambda_.Runtime.PYTHON_3_13
LAMBDA_ARCHITECTURES = {"arm64": lambda_.Architecture.ARM_64, "x86_64": lambda_.Architecture.X86_64}


class LayerNotBuiltError(RuntimeError):
    """`make layers` has not built a layer this synth needs."""


@jsii.implements(ILocalBundling)
class _CopyCore:
    """Local bundling of the core layer: a copy, so no Docker image is ever pulled."""

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_options: Any) -> bool:
        copy_core(Path(output_dir) / "python")
        return True


class Layers(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        mode: LayerMode = "built",
        architecture: Architecture = ARCHITECTURE,
    ) -> None:
        super().__init__(scope, construct_id)
        self.architecture = LAMBDA_ARCHITECTURES[architecture]
        self.core = self._layer(
            "Core",
            lambda_.Code.from_asset(
                str(CORE_LAYER_DIR),
                asset_hash_type=AssetHashType.SOURCE,
                exclude=["*.egg-info", "__pycache__", "*.pyc"],
                # The image is never used: _CopyCore always succeeds.
                bundling=BundlingOptions(image=RUNTIME.bundling_image, local=_CopyCore()),
            ),
            "script_to_film, the project's domain library",
        )
        # Said on the layer itself, for whoever finds a placeholder stack deployed after all.
        placeholder = (
            "PLACEHOLDER, not deployable (stf:layers=placeholder): " if mode == "placeholder" else ""
        )
        self.deps = self._layer(
            "Deps",
            self._built(deps_layer_dir(architecture), mode, "deps"),
            f"{placeholder}Third-party packages from layers/deps/requirements.txt",
        )
        self.ffmpeg = self._layer(
            "Ffmpeg",
            self._built(ffmpeg_layer_dir(architecture), mode, "ffmpeg"),
            f"{placeholder}ffmpeg at /opt/bin/ffmpeg and imageio_ffmpeg, from the imageio-ffmpeg wheel",
        )

    def _layer(self, name: str, code: lambda_.Code, description: str) -> lambda_.LayerVersion:
        return lambda_.LayerVersion(
            self,
            name,
            code=code,
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[self.architecture],
            description=description,
        )

    @staticmethod
    def _built(folder: Path, mode: LayerMode, name: str) -> lambda_.Code:
        if mode == "placeholder":
            return lambda_.Code.from_asset(str(placeholder_layer_dir()))
        if not folder.is_dir():
            raise LayerNotBuiltError(
                f"the {name} layer is not built ({folder} is missing): run `make layers` (it downloads "
                "from PyPI once), or synthesise with the context stf:layers=placeholder for template checks"
            )
        # The folder's name already hashes everything it was built from: no need to hash 130 MB.
        return lambda_.Code.from_asset(
            str(folder), asset_hash_type=AssetHashType.CUSTOM, asset_hash=folder.name
        )

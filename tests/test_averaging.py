"""agents.averaging: the weighted mean of checkpoints, read without unpickling."""

from __future__ import annotations

import zipfile

import pytest
import torch

from agents.averaging import average_networks, networks_from_sb3_zip, parse_source
from agents.networks import Actor, Builder
from agents.release import CheckpointError, export_release, save_checkpoint


def _saved(path, seed, loss_weights=None):
    torch.manual_seed(seed)
    actor, builder = Actor(), Builder()
    save_checkpoint(path, actor, builder, None if loss_weights is None else {"loss_weights": loss_weights})
    return actor, builder


def test_weighted_mean_of_two_checkpoints(tmp_path):
    a = _saved(tmp_path / "a.pt", 0)
    b = _saved(tmp_path / "b.pt", 1)
    actor, builder, _ = average_networks([(tmp_path / "a.pt", 1.0), (tmp_path / "b.pt", 3.0)])
    for index, mean in enumerate((actor, builder)):
        sa, sb = a[index].state_dict(), b[index].state_dict()
        for key, value in mean.state_dict().items():
            torch.testing.assert_close(value, 0.25 * sa[key] + 0.75 * sb[key])
    assert not actor.training and not builder.training


def test_a_released_folder_is_a_source(tmp_path):
    """A run fine-tuned from the released weights can be averaged with them (a folder source)."""
    released = _saved(tmp_path / "unused.pt", 4)
    export_release(*released, tmp_path / "release")
    tuned = _saved(tmp_path / "tuned.pt", 5)
    _, builder, _ = average_networks([(tmp_path / "release", 1.0), (tmp_path / "tuned.pt", 1.0)])
    for key, value in builder.state_dict().items():
        torch.testing.assert_close(value, 0.5 * released[1].state_dict()[key] + 0.5 * tuned[1].state_dict()[key])


def test_one_source_is_that_checkpoint(tmp_path):
    actor0, _ = _saved(tmp_path / "a.pt", 2)
    actor, _, _ = average_networks([(tmp_path / "a.pt", 0.3)])
    for key, value in actor.state_dict().items():
        torch.testing.assert_close(value, actor0.state_dict()[key])


def test_bad_weights_and_sources_are_refused(tmp_path):
    _saved(tmp_path / "a.pt", 0)
    with pytest.raises(ValueError, match="at least one"):
        average_networks([])
    with pytest.raises(ValueError, match="positive"):
        average_networks([(tmp_path / "a.pt", 0.0)])
    with pytest.raises(CheckpointError, match="no such"):
        networks_from_sb3_zip(tmp_path / "missing.zip")
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("data", "{}")
    with pytest.raises(CheckpointError, match="not a styleenv SAC policy"):
        networks_from_sb3_zip(other)


def test_parse_source():
    assert parse_source("runs/a/last.zip") == ("runs/a/last.zip", 1.0)
    assert parse_source("snap.zip:0.25") == ("snap.zip", 0.25)
    assert parse_source("C:/odd:name.pt") == ("C:/odd:name.pt", 1.0)


def test_loss_weights_are_averaged_only_when_every_source_has_them(tmp_path):
    _saved(tmp_path / "a.pt", 0, [0.5, 1.0, 0.1])
    _saved(tmp_path / "b.pt", 1, [0.7, 1.4, 0.3])
    _saved(tmp_path / "old.pt", 2)  # written before checkpoints kept p
    mean = average_networks([(tmp_path / "a.pt", 1.0), (tmp_path / "b.pt", 3.0)])[2]
    assert mean == pytest.approx([0.65, 1.3, 0.25])
    assert average_networks([(tmp_path / "a.pt", 1.0), (tmp_path / "old.pt", 1.0)])[2] is None
    _saved(tmp_path / "bad.pt", 3, [1.0, float("nan"), 1.0])
    with pytest.raises(CheckpointError, match="three finite numbers"):
        average_networks([(tmp_path / "bad.pt", 1.0)])

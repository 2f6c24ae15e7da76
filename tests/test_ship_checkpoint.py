"""scripts/ship_checkpoint.py: a run becomes a small checkpoint with a card, stages chained."""

from __future__ import annotations

import importlib.util
import json
import warnings
from pathlib import Path

import pytest
import torch

from agents.networks import Actor, Builder
from agents.release import load_checkpoint, save_checkpoint
from agents.sac.config import load_config
from agents.sac.trainer import build, learn
from styleenv.weights import sha256_of

ROOT = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("ship_checkpoint", ROOT / "scripts" / "ship_checkpoint.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _train(out: Path, steps: int, init: Path | None = None):
    overrides = {"output": str(out), "total_steps": steps, "checkpoint_every": steps}
    if init is not None:
        overrides["init"] = str(init)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return learn(build(load_config(ROOT / "configs" / "tiny.toml", overrides)))


def test_two_stages_chain_into_one_card(tmp_path):
    ship = _script().main
    _train(tmp_path / "run1", 8)
    first = tmp_path / "first.pt"
    assert ship([str(tmp_path / "run1"), "--out", str(first), "--command", "styleenv train --config a.toml",
                 "--wall-hours", "0.5"]) == 0
    run2 = _train(tmp_path / "run2", 6, init=first)
    second = tmp_path / "second.pt"
    assert ship([str(tmp_path / "run2"), "--out", str(second), "--command", "styleenv train --config b.toml",
                 "--wall-hours", "0.25", "--continues", str(first.with_suffix(".json"))]) == 0

    card = json.loads(second.with_suffix(".json").read_text())
    assert card["sha256"] == sha256_of(second)
    training = card["training"]
    assert [s["command"] for s in training["stages"]] == ["styleenv train --config a.toml",
                                                          "styleenv train --config b.toml"]
    assert [s["env_steps"] for s in training["stages"]] == [8, 6] and training["env_steps"] == 14
    assert training["wall_hours"] == 0.75
    assert training["stages"][1]["init_sha256"] == sha256_of(first)
    actor, builder, meta = load_checkpoint(second)
    assert meta["num_timesteps"] == 14
    assert meta["loss_weights"] == pytest.approx(run2.model.policy.loss_weights.tolist())  # p ship with it
    trained_actor, trained_builder = run2.model.policy.networks
    for mine, theirs in ((actor, trained_actor), (builder, trained_builder)):
        for key, value in mine.state_dict().items():
            assert torch.equal(value, theirs.state_dict()[key])


def test_init_default_is_the_shipped_checkpoint(tmp_path):
    """A run fine-tuned with ``init = "default"`` continues the shipped checkpoint's card."""
    from agents.default import DEFAULT_CHECKPOINT

    init_source = _script().init_source
    assert init_source({"init": "default"}) == DEFAULT_CHECKPOINT
    assert init_source({"init": None}) is None and init_source({"init": str(tmp_path / "gone.pt")}) is None
    (tmp_path / "w.pt").write_bytes(b"x")
    assert init_source({"init": str(tmp_path / "w.pt")}) == tmp_path / "w.pt"


def test_continues_refuses_a_card_of_another_file(tmp_path, capsys):
    ship = _script().main
    _train(tmp_path / "run1", 6)
    first = tmp_path / "first.pt"
    ship([str(tmp_path / "run1"), "--out", str(first), "--command", "styleenv train"])
    _train(tmp_path / "run2", 6, init=first)
    card = json.loads(first.with_suffix(".json").read_text())
    card["sha256"] = "0" * 64
    other = tmp_path / "other.json"
    other.write_text(json.dumps(card))
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        ship([str(tmp_path / "run2"), "--out", str(tmp_path / "second.pt"), "--command", "styleenv train",
              "--continues", str(other)])
    assert exit_.value.code == 2
    assert f"error: --continues: {other} describes another file than the run's init" in capsys.readouterr().err
    assert not (tmp_path / "second.pt").exists()


def test_bad_inputs_are_refused_in_one_line(tmp_path, capsys):
    """A file that is not what its option asks for, or a run folder without its config, ends in one
    error line (exit 2), before anything is written."""
    import shutil

    ship = _script().main
    run = tmp_path / "run"
    _train(run, 4)
    not_zip, not_pt, not_card = tmp_path / "notes.zip", tmp_path / "notes.pt", tmp_path / "card.json"
    for path in (not_zip, not_pt, not_card):
        path.write_text("not what it says")
    bare = tmp_path / "bare"
    shutil.copytree(run, bare)
    (bare / "config.json").unlink()
    out = tmp_path / "out.pt"
    cases = [([str(run), "--average", str(not_zip)], f"error: --average {not_zip}: not an SB3 model zip"),
             ([str(run), "--average", str(not_pt)], f"error: {not_pt}: not a readable PyTorch checkpoint"),
             ([str(run), "--continues", str(tmp_path / "gone.json")],
              f"error: --continues {tmp_path / 'gone.json'}: no such card file"),
             ([str(run), "--continues", str(not_card)], f"error: --continues {not_card}: not a checkpoint card"),
             ([str(bare)], f"error: {bare}: not a training run folder")]
    for argv, message in cases:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exit_:
            ship([*argv, "--out", str(out)])
        assert exit_.value.code == 2, argv
        assert message in capsys.readouterr().err.splitlines()[-1]
    assert not out.exists()


def test_snapshots_of_a_run_without_tensorboard(tmp_path, capsys, monkeypatch):
    """A run that wrote no TensorBoard logs saves snapshots that name no run: they count as RUN's,
    and with --sibling (whose stage they might belong to) they are refused in one line."""
    from agents.sac import trainer

    monkeypatch.setattr(trainer, "tensorboard_folder", lambda directory: None)  # as where tensorboard is missing
    script = _script()
    _train(tmp_path / "run", 4)
    snapshot = tmp_path / "snap-4.zip"
    snapshot.write_bytes((tmp_path / "run" / "checkpoints" / "last.zip").read_bytes())
    assert script.snapshot_data(snapshot) == (4, None)
    (tmp_path / "run" / "checkpoints" / "last.json").write_text('{"num_timesteps": 9}')  # the run went on after it
    out = tmp_path / "soup.pt"
    assert script.main([str(tmp_path / "run"), "--out", str(out), "--average", str(snapshot)]) == 0
    assert json.loads(out.with_suffix(".json").read_text())["training"]["env_steps"] == 4

    _train(tmp_path / "run2", 3)
    sibling = tmp_path / "sibling-3.zip"
    sibling.write_bytes((tmp_path / "run2" / "checkpoints" / "last.zip").read_bytes())
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        script.main([str(tmp_path / "run"), "--out", str(out), "--sibling", str(tmp_path / "run2"), "styleenv train b",
                     "0.25", "--average", f"{snapshot}:1", f"{sibling}:1"])
    assert exit_.value.code == 2
    assert f"error: --average {snapshot}: the snapshot names no run" in capsys.readouterr().err


def test_average_ships_the_weighted_mean_of_snapshots(tmp_path, capsys):
    ship = _script().main
    run = _train(tmp_path / "run", 6)
    snapshot = tmp_path / "snap.zip"
    snapshot.write_bytes((tmp_path / "run" / "checkpoints" / "last.zip").read_bytes())
    torch.manual_seed(3)
    other_actor, other_builder = Actor(), Builder()
    save_checkpoint(tmp_path / "other.pt", other_actor, other_builder)
    out = tmp_path / "soup.pt"
    assert ship([str(tmp_path / "run"), "--out", str(out), "--command", "styleenv train",
                 "--average", f"{snapshot}:3", f"{tmp_path / 'other.pt'}:1"]) == 0
    stage = json.loads(out.with_suffix(".json").read_text())["training"]["stages"][-1]
    assert [(s["file"], s["weight"]) for s in stage["averaged"]] == [("snap.zip", 0.75), ("other.pt", 0.25)]
    assert stage["averaged"][0]["sha256"] == sha256_of(snapshot)
    actor, _, _ = load_checkpoint(out)
    trained = run.model.policy.networks[0].state_dict()
    for key, value in actor.state_dict().items():
        torch.testing.assert_close(value, 0.75 * trained[key] + 0.25 * other_actor.state_dict()[key])
    assert "loss_weights" not in load_checkpoint(out)[2]  # other.pt holds no p, so the mean has none
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        ship([str(tmp_path / "run"), "--out", str(out), "--average", f"{snapshot}:0"])
    assert exit_.value.code == 2
    assert "error: --average: weights must be positive, got [0.0]" in capsys.readouterr().err


def test_a_fine_tune_of_the_released_folder_ships_averaged_with_it(tmp_path, capsys):
    """A run fine-tuned from a released-layout folder records its files and may be averaged with it."""
    from agents.release import export_release

    ship = _script().main
    torch.manual_seed(7)
    export_release(Actor(), Builder(), tmp_path / "release")
    _train(tmp_path / "run", 4, init=tmp_path / "release")
    snapshot = tmp_path / "snap-4.zip"
    snapshot.write_bytes((tmp_path / "run" / "checkpoints" / "last.zip").read_bytes())
    (tmp_path / "run" / "checkpoints" / "last.json").write_text('{"num_timesteps": 9}')  # the run went on after it
    out = tmp_path / "soup.pt"
    assert ship([str(tmp_path / "run"), "--out", str(out), "--command", "styleenv train",
                 "--average", f"{tmp_path / 'release'}:1", f"{snapshot}:1"]) == 0
    card = json.loads(out.with_suffix(".json").read_text())
    stage = card["training"]["stages"][-1]
    files = {"actor.pth.tar": sha256_of(tmp_path / "release" / "actor.pth.tar"),
             "builder.pth.tar": sha256_of(tmp_path / "release" / "builder.pth.tar")}
    assert stage["init_release"] == {"folder": "release", "sha256": files}
    assert stage["averaged"] == [{"folder": "release", "sha256": files, "weight": 0.5},
                                 {"file": "snap-4.zip", "sha256": sha256_of(snapshot), "weight": 0.5}]
    assert stage["env_steps"] == 4 and all(r["step"] <= 4 for r in stage["heldout_reward_history"])
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        ship([str(tmp_path / "run"), "--out", str(out), "--average", str(tmp_path / "gone")])
    assert exit_.value.code == 2
    assert f"error: --average {tmp_path / 'gone'}: no such snapshot file or folder" in capsys.readouterr().err

    # a sibling run from the same start, averaged in, is a stage of its own (its latest snapshot's steps)
    _train(tmp_path / "run2", 3, init=tmp_path / "release")
    sibling = tmp_path / "sibling-3.zip"
    sibling.write_bytes((tmp_path / "run2" / "checkpoints" / "last.zip").read_bytes())
    assert ship([str(tmp_path / "run"), "--out", str(out), "--command", "styleenv train a", "--wall-hours", "0.5",
                 "--sibling", str(tmp_path / "run2"), "styleenv train b", "0.25",
                 "--average", f"{snapshot}:1", f"{sibling}:1"]) == 0
    training = json.loads(out.with_suffix(".json").read_text())["training"]
    assert [(s["command"], s["env_steps"]) for s in training["stages"]] == [("styleenv train b", 3),
                                                                             ("styleenv train a", 4)]
    assert training["env_steps"] == 7 and training["wall_hours"] == 0.75
    config = json.loads((tmp_path / "run2" / "config.json").read_text())
    (tmp_path / "run2" / "config.json").write_text(json.dumps({**config, "init": str(tmp_path / "elsewhere")}))
    with pytest.raises(SystemExit) as exit_:
        ship([str(tmp_path / "run"), "--out", str(out), "--command", "styleenv train a",
              "--sibling", str(tmp_path / "run2"), "styleenv train b", "0.25", "--average", f"{sibling}:1"])
    assert exit_.value.code == 2
    assert f"error: --sibling {tmp_path / 'run2'}: started from other weights than {tmp_path / 'run'}" in capsys.readouterr().err

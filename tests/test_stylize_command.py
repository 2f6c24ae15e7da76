"""The ``styleenv stylize`` command: files written, JSON summary, and every bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from agents.networks import Actor, Builder
from agents.release import save_checkpoint
from styleenv_cli.main import main


def _image(path: Path, w: int, h: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx / w, yy / h, (xx + yy) / (w + h)], axis=-1) * 200
    Image.fromarray((base + rng.integers(0, 55, (h, w, 3))).astype(np.uint8)).save(path)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("inputs")
    (root / "contents").mkdir()
    (root / "empty").mkdir()
    torch.manual_seed(0)
    actor, builder = Actor(), Builder()
    return {
        "content": _image(root / "contents" / "cat.png", 45, 33, 0),
        "content2": _image(root / "contents" / "dog.jpg", 32, 40, 1),
        "contents": root / "contents",
        "style": _image(root / "wave.png", 36, 36, 2),
        "empty": root / "empty",
        "checkpoint": save_checkpoint(root / "model.pt", actor, builder),
        "text": (root / "notes.png"),
        "garbage": (root / "garbage.pt"),
    }


@pytest.fixture(scope="module")
def trained() -> Path:
    """The shipped checkpoint, passed by --checkpoint (a fresh init gives near-constant images)."""
    from agents.default import DEFAULT_CHECKPOINT

    return DEFAULT_CHECKPOINT


@pytest.fixture(autouse=True)
def _writes(files: dict[str, Path]) -> None:
    files["text"].write_text("this is not an image")
    files["garbage"].write_bytes(b"\x00not a checkpoint")


def run(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    rc = main(["stylize", *map(str, argv)])
    out, err = capsys.readouterr()
    return rc, out, err


def all_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*")) if folder.exists() else []


def test_one_pair_json(files, trained, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    rc, stdout, err = run([files["content"], files["style"], "--checkpoint", trained,
                           "--steps", 3, "--keep", 1, 3, "--out", out, "--json"], capsys)
    assert rc == 0, err
    summary = json.loads(stdout)
    assert summary["steps"] == 3 and summary["keep"] == [1, 3] and summary["sample"] is False
    (pair,) = summary["pairs"]
    assert pair["size"] == [45, 33]
    assert [s["step"] for s in pair["steps"]] == [1, 2, 3]
    written = [Path(s["path"]) for s in pair["steps"]] + [Path(pair[k]) for k in ("sheet", "gif", "options")]
    assert sorted(written) == [p for p in all_files(out) if p.is_file()]  # exactly these, no temporaries
    for step in pair["steps"]:
        assert Image.open(step["path"]).size == (45, 33)
    with Image.open(pair["gif"]) as gif:
        assert gif.n_frames == 4  # content + 3 steps
    with Image.open(pair["sheet"]) as sheet:
        assert 3 * sheet.height < sheet.width < 4.5 * sheet.height  # content | style | 2 kept steps


def test_folders_run_all_pairs(files, trained, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    rc, stdout, err = run([files["contents"], files["style"], "--checkpoint", trained,
                           "--steps", 2, "--out", out, "--json"], capsys)
    assert rc == 0, err
    pairs = json.loads(stdout)["pairs"]
    assert [Path(p["folder"]).name for p in pairs] == ["cat__wave", "dog__wave"]
    assert all(Path(s["path"]).is_file() for p in pairs for s in p["steps"])


def test_sampling_is_seeded_and_default_is_deterministic(files, trained, tmp_path: Path, capsys) -> None:
    def step2(name: str, *extra) -> bytes:
        rc, stdout, err = run([files["content"], files["style"], "--checkpoint", trained,
                               "--steps", 2, "--out", tmp_path / name, "--json", *extra], capsys)
        assert rc == 0, err
        return np.asarray(Image.open(json.loads(stdout)["pairs"][0]["steps"][1]["path"])).tobytes()

    assert step2("d1") == step2("d2")
    assert step2("s1", "--sample", "--seed", 3) == step2("s2", "--sample", "--seed", 3)
    assert step2("s3", "--sample", "--seed", 4) != step2("s1b", "--sample", "--seed", 3)


def test_release_weights(files, reference: Path, tmp_path: Path, capsys) -> None:
    rc, stdout, err = run([files["content"], files["style"], "--release", reference, "--steps", 1,
                           "--out", tmp_path / "out", "--json"], capsys)
    assert rc == 0, err
    assert json.loads(stdout)["model"] == {"release": str(reference)}


BAD = {
    "missing content": (["{nowhere}/x.png", "{style}", "--checkpoint", "{checkpoint}"], "no such file"),
    "missing style": (["{content}", "{nowhere}/y.png", "--checkpoint", "{checkpoint}"], "no such file"),
    "content not an image": (["{text}", "{style}", "--checkpoint", "{checkpoint}"], "notes.png"),
    "style not an image": (["{content}", "{text}", "--checkpoint", "{checkpoint}"], "notes.png"),
    "empty folder": (["{empty}", "{style}", "--checkpoint", "{checkpoint}"], "no images"),
    "unreadable checkpoint": (["{content}", "{style}", "--checkpoint", "{garbage}"], "garbage.pt"),
    "missing checkpoint": (["{content}", "{style}", "--checkpoint", "{nowhere}/m.pt"], "m.pt"),
    "release folder without files": (["{content}", "{style}", "--release", "{empty}"], "actor.pth.tar"),
    "both models": (["{content}", "{style}", "--release", "{empty}", "--checkpoint", "{checkpoint}"], "either"),
    "zero steps": (["{content}", "{style}", "--checkpoint", "{checkpoint}", "--steps", "0"], "--steps"),
    "negative steps": (["{content}", "{style}", "--checkpoint", "{checkpoint}", "--steps", "-3"], "--steps"),
    "keep beyond steps": (["{content}", "{style}", "--checkpoint", "{checkpoint}", "--steps", "3", "--keep", "4"], "--keep"),
    "seed without sample": (["{content}", "{style}", "--checkpoint", "{checkpoint}", "--seed", "1"], "--sample"),
    "negative max size": (["{content}", "{style}", "--checkpoint", "{checkpoint}", "--max-size", "-1"], "--max-size"),
    "alpha out of range": (["{content}", "{style}", "--checkpoint", "{checkpoint}", "--alpha", "2"], "--alpha"),
    "alpha not a number": (["{content}", "{style}", "--checkpoint", "{checkpoint}", "--alpha", "nan"], "--alpha"),
    "too many steps": (["{content}", "{style}", "--checkpoint", "{checkpoint}", "--steps", "1000000000"], "--steps"),
    "feather without a mask": (["{content}", "{style}", "--checkpoint", "{checkpoint}", "--feather", "3"], "--mask"),
    "feather not a number": (["{content}", "{style}", "--checkpoint", "{checkpoint}", "--feather", "nan"], "--feather"),
    "feather infinite": (["{content}", "{style}", "--checkpoint", "{checkpoint}", "--mask", "{style}", "--feather", "inf"],
                         "--feather"),
    "more threads than cores": (["{content}", "{style}", "--checkpoint", "{checkpoint}", "--threads", "100000"],
                                "--threads"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_exits_2_with_one_line(case: str, files, tmp_path: Path, capsys) -> None:
    template, needle = BAD[case]
    names = {k: str(v) for k, v in files.items()} | {"nowhere": str(tmp_path / "nowhere")}
    out = tmp_path / "out"
    argv = [a.format(**names) for a in template] + ["--steps" if "--steps" not in template else "--json", "2"
                                                     if "--steps" not in template else ""]
    argv = [a for a in argv if a] + ["--out", str(out)]
    rc, stdout, err = run(argv, capsys)
    lines = err.strip().splitlines()
    assert rc == 2
    assert len(lines) == 1 and lines[0].startswith("styleenv stylize: error: "), err
    assert needle in lines[0]
    assert not out.exists()


def test_a_folder_inside_the_contents_is_not_read_as_content(files, tmp_path: Path, capsys) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "cat.png").write_bytes(files["content"].read_bytes())
    out = photos / "styleenv-output"  # the default output folder, run from inside the content folder
    argv = [photos, files["style"], "--checkpoint", files["checkpoint"], "--steps", 2, "--out", out, "--json"]
    for _ in range(2):  # the second run finds the first one's PNGs under the content folder
        rc, stdout, err = run(argv + ["--overwrite"], capsys)
        assert rc == 0, err
        assert [Path(p["content"]).name for p in json.loads(stdout)["pairs"]] == ["cat.png"]


def test_out_is_a_file(files, tmp_path: Path, capsys) -> None:
    out = tmp_path / "taken"
    out.write_text("x")
    rc, _, err = run([files["content"], files["style"], "--checkpoint", files["checkpoint"], "--out", out], capsys)
    assert rc == 2 and "--out" in err and len(err.strip().splitlines()) == 1
    assert out.read_text() == "x"


def test_out_named_like_an_image(files, tmp_path: Path, capsys) -> None:
    out = tmp_path / "result.png"
    rc, _, err = run([files["content"], files["style"], "--checkpoint", files["checkpoint"], "--out", out], capsys)
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert f"--out {tmp_path / 'result'}" in err  # the folder to pass instead
    assert not out.exists()


def test_failure_mid_pair_leaves_nothing(files, tmp_path: Path, capsys, monkeypatch) -> None:
    import styleenv.visual

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(styleenv.visual, "save_gif", broken)
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="disk full"):
        run([files["content"], files["style"], "--checkpoint", files["checkpoint"], "--steps", 2, "--out", out],
            capsys)
    assert all_files(out) == []
    # a folder that already existed keeps its other contents and gains nothing
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(RuntimeError, match="disk full"):
        run([files["content"], files["style"], "--checkpoint", files["checkpoint"], "--steps", 2, "--out", out],
            capsys)
    assert all_files(out) == [out / "keep.txt"]


def test_no_model_flag_uses_the_shipped_checkpoint(files, tmp_path: Path, capsys) -> None:
    from agents.default import DEFAULT_CHECKPOINT

    rc, stdout, err = run([files["content"], files["style"], "--steps", 2, "--out", tmp_path, "--json"], capsys)
    assert rc == 0, err
    summary = json.loads(stdout)
    assert summary["model"] == {"checkpoint": str(DEFAULT_CHECKPOINT)}
    assert [Path(s["path"]).is_file() for s in summary["pairs"][0]["steps"]] == [True, True]


def test_rerun_with_other_options_is_refused_not_skipped(files, tmp_path: Path, capsys) -> None:
    """A folder's name does not carry the model, --steps or --max-size: its options.json does."""
    torch.manual_seed(1)
    other = save_checkpoint(tmp_path / "other.pt", Actor(), Builder())
    out = tmp_path / "out"
    argv = [files["content"], files["style"], "--checkpoint", files["checkpoint"], "--steps", 1, "--out", out]
    assert run(argv, capsys)[0] == 0
    record = out / "cat__wave" / "options.json"
    before = record.read_text()
    for extra, needle in ((["--steps", 2], "--steps 1 then, 2 now"),
                          (["--max-size", 16], "--max-size 1024 then, 16 now"),
                          (["--checkpoint", other], f"{other.resolve()} (sha256")):
        rc, _, err = run(argv + extra, capsys)
        lines = err.strip().splitlines()
        assert rc == 2 and len(lines) == 1 and lines[0].startswith("styleenv stylize: error: "), err
        assert f"{out / 'cat__wave'}/ exists, made with other options (" in lines[0] and needle in lines[0]
        assert "--overwrite replaces it, or --out names another folder" in lines[0]
        assert record.read_text() == before
    rc, stdout, err = run(argv, capsys)  # the same command again: a quick skip
    assert rc == 0 and "skipped" in stdout + err and record.read_text() == before
    assert run(argv + ["--steps", 2, "--overwrite"], capsys)[0] == 0
    assert json.loads(record.read_text())["steps"] == 2

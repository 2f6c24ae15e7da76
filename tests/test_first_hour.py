"""A new user's first hour (issue 14), case by case on tiny images: no traceback, no silent surprise.

Tiny sizes, two or three steps and the shipped checkpoint keep each case to seconds.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from styleenv.files import remove_stale_temporaries, temporary_name
from styleenv.visual import sample_steps, step_name
from styleenv_cli.main import main

DEAD_PID = 2**22 + 1  # above Linux's largest pid: never a running process


def _image(path: Path, w: int, h: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path)
    return path


def _stylize(argv: list, capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    rc = main(["stylize", *map(str, argv)])
    out, err = capsys.readouterr()
    return rc, out, err


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) if folder.is_dir() else []


# --------------------------------------------------------------------------------------------------
# Tracebacks that become results or one-line errors
# --------------------------------------------------------------------------------------------------


def test_one_pixel_content_and_style_are_stylised(tmp_path: Path, capsys) -> None:
    content, style = _image(tmp_path / "dot.png", 1, 1), _image(tmp_path / "speck.png", 1, 1, seed=1)
    rc, out, err = _stylize([content, style, "--steps", 2, "--out", tmp_path / "out", "--json"], capsys)
    assert rc == 0, err
    steps = json.loads(out)["pairs"][0]["steps"]
    assert [Image.open(s["path"]).size for s in steps] == [(1, 1), (1, 1)]


def test_max_size_3_downscales_to_3_pixels(tmp_path: Path, capsys) -> None:
    content, style = _image(tmp_path / "c.png", 40, 30), _image(tmp_path / "s.png", 24, 24, seed=1)
    rc, out, err = _stylize([content, style, "--steps", 1, "--max-size", 3, "--out", tmp_path / "out", "--json"],
                            capsys)
    assert rc == 0, err
    assert Image.open(json.loads(out)["pairs"][0]["steps"][0]["path"]).size == (3, 2)


@pytest.mark.parametrize("command", [
    ["stylize", "{c}", "{s}", "--steps", "1", "--out", "{bad}"],
    ["demo", "--size", "16", "--steps", "1", "--out", "{bad}"],
    ["evaluate", "--agents", "identity", "--sizes", "32", "--steps", "1", "--no-plots", "--out", "{bad}"],
    ["train", "--config", "configs/tiny.toml", "--output", "{bad}"],
])  # fmt: skip
def test_unwritable_output_folder_is_one_line_exit_2(command: list[str], tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("mine")
    bad = blocker / "out"  # inside a regular file: cannot be created, whoever runs the test
    values = {"c": _image(tmp_path / "c.png", 16, 16), "s": _image(tmp_path / "s.png", 16, 16, 1), "bad": bad}
    rc = main([a.format(**values) for a in command])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.strip().splitlines() == [f"styleenv {command[0]}: error: {'--output' if command[0] == 'train' else '--out'}"
                                        f" {bad}: cannot write there (Not a directory)"]
    assert blocker.read_text() == "mine"


@pytest.mark.parametrize("inside", [True, False], ids=["new-folder-in-it", "the-folder-itself"])
def test_read_only_output_folder_is_one_line_exit_2(inside: bool, tmp_path: Path, capsys,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if os.geteuid() == 0:  # root writes into read-only folders: refuse what the kernel would refuse anyone else
        real_mkdir, real_write = Path.mkdir, Path.write_bytes

        def mkdir(self: Path, *args, **kwargs) -> None:
            if self.parent == locked and not self.exists():
                raise PermissionError(13, "Permission denied", str(self))
            real_mkdir(self, *args, **kwargs)

        def write_bytes(self: Path, data: bytes) -> int:
            if locked in self.parents:
                raise PermissionError(13, "Permission denied", str(self))
            return real_write(self, data)

        monkeypatch.setattr(Path, "mkdir", mkdir)
        monkeypatch.setattr(Path, "write_bytes", write_bytes)
    out = locked / "out" if inside else locked
    rc, _, err = _stylize([_image(tmp_path / "c.png", 16, 16), _image(tmp_path / "s.png", 16, 16, 1),
                           "--steps", 1, "--out", out], capsys)
    assert rc == 2
    assert err.strip().splitlines() == [f"styleenv stylize: error: --out {out}: cannot write there (Permission denied)"]
    assert sorted(locked.iterdir()) == []


# --------------------------------------------------------------------------------------------------
# Temporary files: removed on SIGTERM, and on the next start after a kill
# --------------------------------------------------------------------------------------------------


def test_sigterm_during_stylize_leaves_no_temporary_folder(tmp_path: Path) -> None:
    content, style = _image(tmp_path / "photo.png", 256, 256), _image(tmp_path / "painting.png", 64, 64, 1)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "styleenv", "stylize", str(content), str(style), "--steps", "2000", "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not any((out / name / "step-0001.png").exists() for name in _hidden(out)):
            assert proc.poll() is None and time.monotonic() < deadline, "no step written"
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "styleenv stylize: interrupted"
    assert not out.exists()  # no staging folder, and the output folder the run created is gone again


def test_stale_temporaries_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    stale_dir = tmp_path / f".photo__painting.{DEAD_PID}.abcd1234.tmp"
    stale_dir.mkdir()
    (stale_dir / "step-01.png").write_bytes(b"x")
    stale_file = tmp_path / f".last.zip.{DEAD_PID}.0123abcd.tmp"
    stale_file.write_bytes(b"x")
    live = tmp_path / temporary_name("sheet.png")  # this process is running
    live.write_bytes(b"x")
    mine = [tmp_path / ".hidden.tmp", tmp_path / f"photo.{DEAD_PID}.abcd1234.tmp"]  # not our names
    for path in mine:
        path.write_bytes(b"x")
    assert sorted(remove_stale_temporaries(tmp_path)) == sorted([stale_dir, stale_file])
    assert sorted(tmp_path.iterdir()) == sorted([live, *mine])
    assert remove_stale_temporaries(tmp_path / "missing") == []


def test_stylize_clears_a_killed_runs_staging_folder(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    stale = out / f".c__s.{DEAD_PID}.abcd1234.tmp"
    stale.mkdir(parents=True)
    rc, _, err = _stylize([_image(tmp_path / "c.png", 16, 16), _image(tmp_path / "s.png", 16, 16, 1),
                           "--steps", 1, "--out", out], capsys)
    assert rc == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["c__s"]


def test_training_clears_a_killed_runs_checkpoint_temporaries(tmp_path: Path) -> None:
    import warnings

    from agents.sac.config import load_config
    from agents.sac.trainer import build

    stale = tmp_path / "checkpoints" / f".last.zip.{DEAD_PID}.0123abcd.tmp"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"half a zip")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        build(load_config("configs/tiny.toml", {"output": str(tmp_path)}))
    assert not stale.exists()


# --------------------------------------------------------------------------------------------------
# Many steps, re-runs, bad files, gifs
# --------------------------------------------------------------------------------------------------


def test_sample_steps_and_step_names() -> None:
    assert sample_steps(range(1, 11)) == list(range(1, 11))
    picked = sample_steps(range(1, 1001))
    assert len(picked) == 12 and picked[0] == 1 and picked[-1] == 1000
    assert step_name(7, 10) == "step-07.png" and step_name(7, 1000) == "step-0007.png"
    names = [step_name(k, 120) for k in (2, 11, 100)]
    assert sorted(names) == names


def test_hundred_steps_sheet_is_capped_and_names_sort(tmp_path: Path, capsys) -> None:
    rc, out, err = _stylize([_image(tmp_path / "c.png", 8, 8), _image(tmp_path / "s.png", 8, 8, 1),
                             "--steps", 100, "--out", tmp_path / "out", "--json"], capsys)
    assert rc == 0, err
    pair = json.loads(out)["pairs"][0]
    names = [Path(s["path"]).name for s in pair["steps"]]
    assert names[0] == "step-001.png" and names[-1] == "step-100.png" and sorted(names) == names
    twelve = Image.open(pair["sheet"]).width
    rc, out, err = _stylize([tmp_path / "c.png", tmp_path / "s.png", "--steps", 12, "--out", tmp_path / "twelve",
                             "--json"], capsys)
    assert rc == 0, err
    assert Image.open(json.loads(out)["pairs"][0]["sheet"]).width == twelve  # 12 steps shown in both


def test_rerun_skips_existing_pairs_unless_overwrite(tmp_path: Path, capsys) -> None:
    args = [_image(tmp_path / "c.png", 16, 16), _image(tmp_path / "s.png", 16, 16, 1), "--steps", 1,
            "--out", tmp_path / "out"]
    assert _stylize(args, capsys)[0] == 0
    step = tmp_path / "out" / "c__s" / "step-01.png"
    step.write_bytes(b"edited by the user")
    rc, out, err = _stylize(args, capsys)
    assert rc == 0 and "skipped" in out + err and "--overwrite" in out + err
    assert step.read_bytes() == b"edited by the user"
    rc, out, _ = _stylize([*args, "--json"], capsys)
    assert json.loads(out)["pairs"][0]["skipped"] is True
    assert _stylize([*args, "--overwrite"], capsys)[0] == 0
    assert Image.open(step).size == (16, 16)


def test_skip_bad_leaves_out_an_unreadable_file(tmp_path: Path, capsys) -> None:
    photos = tmp_path / "photos"
    _image(photos / "good.png", 16, 16)
    (photos / "broken.jpg").write_text("not an image")
    style = _image(tmp_path / "s.png", 16, 16, 1)
    rc, _, err = _stylize([photos, style, "--steps", 1, "--out", tmp_path / "out"], capsys)
    assert rc == 2 and "broken.jpg" in err and "--skip-bad" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
    rc, out, err = _stylize([photos, style, "--steps", 1, "--out", tmp_path / "out", "--skip-bad", "--json"], capsys)
    assert rc == 0 and "skipped" in err and "broken.jpg" in err
    assert [p["content"] for p in json.loads(out)["pairs"]] == [str(photos / "good.png")]


def test_gif_in_a_folder_is_used(tmp_path: Path, capsys) -> None:
    paintings = tmp_path / "paintings"
    paintings.mkdir()
    Image.open(_image(tmp_path / "s.png", 16, 16, 1)).save(paintings / "animated.gif")
    rc, out, err = _stylize([_image(tmp_path / "c.png", 16, 16), paintings, "--steps", 1, "--out", tmp_path / "out",
                             "--json"], capsys)
    assert rc == 0, err
    assert json.loads(out)["pairs"][0]["style"] == str(paintings / "animated.gif")


# --------------------------------------------------------------------------------------------------
# Version, help, progress
# --------------------------------------------------------------------------------------------------


def test_version_and_python_dash_m(capsys) -> None:
    from styleenv import __version__

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"styleenv {__version__}"
    for module in ("styleenv", "styleenv_cli"):
        proc = subprocess.run([sys.executable, "-m", module, "--version"], capture_output=True, text=True)
        assert proc.returncode == 0 and proc.stdout.strip() == f"styleenv {__version__}", proc.stderr


def test_evaluate_help_lists_ours(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "ours (the shipped checkpoint)" in help_text


def test_demo_shows_progress(tmp_path: Path, capsys) -> None:
    assert main(["demo", "--out", str(tmp_path), "--size", "16", "--steps", "2"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("loading the shipped agent")
    assert "demo episode" in err and "2/2" in err


# --------------------------------------------------------------------------------------------------
# Training from a fresh clone with a few images of one's own
# --------------------------------------------------------------------------------------------------


def test_cpu_config_needs_no_shared_folder() -> None:
    from agents.sac.config import load_config

    config = load_config("configs/cpu.toml")
    assert config.content is None and config.style is None  # the built-in images


def test_train_on_three_photos_and_two_paintings(tmp_path: Path, capsys) -> None:
    for i in range(3):
        _image(tmp_path / "photos" / f"p{i}.jpg", 40, 32, i)
    for i in range(2):
        _image(tmp_path / "paintings" / f"s{i}.png", 36, 36, 10 + i)
    run = tmp_path / "run"
    argv = ["train", "--config", "configs/tiny.toml", "--content", str(tmp_path / "photos"), "--style",
            str(tmp_path / "paintings"), "--output", str(run), "--set", "total_steps=6", "--set", "eval_pairs=1"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "3 images, too few to hold back holdout_content = 10; holding back a quarter of them (0)" in err
    assert (run / "final.pt").is_file()
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2 and err.strip().splitlines() == [
        f"styleenv train: error: --output {run} holds a run: --resume continues it, --overwrite starts it again, "
        "or pass another --output"]
    assert main([*argv, "--overwrite", "--no-holdout"]) == 0
    err = capsys.readouterr().err
    assert "hold back" not in err
    assert json.loads((run / "config.json").read_text())["holdout_content"] == 0
    assert main([*argv, "--overwrite", "--resume"]) == 2


def test_train_refuses_more_threads_than_cores_on_the_command_line(tmp_path: Path, capsys) -> None:
    import argparse

    from styleenv_cli.commands.train import add_arguments, config_from_args

    cores = os.cpu_count() or 1
    run = tmp_path / "run"
    for given, name in ((["--threads", str(cores + 1)], "--threads"), (["--set", f"threads={cores + 1}"], "threads")):
        assert main(["train", "--config", "configs/tiny.toml", "--output", str(run), *given]) == 2
        assert capsys.readouterr().err.strip().splitlines() == [
            f"styleenv train: error: {name} must lie in 1..{cores} (this machine's cores), or be 0 for automatic; "
            f"got {cores + 1}"]
    assert not run.exists()  # refused before the run folder is made
    config = tmp_path / "many-threads.toml"
    config.write_text(Path("configs/tiny.toml").read_text().replace("threads = 1", f"threads = {cores + 1}"))
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert config_from_args(parser.parse_args(["--config", str(config), "--output", str(run)])).threads == cores
    assert "is more than this machine's" in capsys.readouterr().err  # a config file's count is lowered


def test_resume_lowers_a_saved_thread_count_to_the_cores(tmp_path: Path, capsys) -> None:
    """A run saved on a bigger machine resumes here; a count given now is still refused."""
    import argparse

    from agents.sac.config import load_config
    from styleenv_cli.commands import UsageError
    from styleenv_cli.commands.train import add_arguments, config_from_args

    cores = os.cpu_count() or 1
    run = tmp_path / "run"
    run.mkdir()
    saved = load_config("configs/tiny.toml", {"output": str(run)}).to_dict() | {"threads": cores + 4}
    (run / "config.json").write_text(json.dumps(saved))
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert config_from_args(parser.parse_args(["--output", str(run), "--resume"])).threads == cores
    assert capsys.readouterr().err.strip().splitlines() == [
        f"styleenv train: warning: threads = {cores + 4} (from a file) is more than this machine's {cores} cores; "
        f"the run uses {cores}"]
    with pytest.raises(UsageError, match=f"--threads must lie in 1..{cores}"):
        config_from_args(parser.parse_args(["--output", str(run), "--resume", "--threads", str(cores + 1)]))

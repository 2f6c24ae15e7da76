"""The ``styleenv train`` command on the tiny config: one-line errors, SIGTERM, --overwrite, divergence."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from agents.sac.config import load_config
from agents.sac.trainer import build


def _errors(capsys) -> list[str]:
    """The lines of stderr that are not warnings."""
    return [line for line in capsys.readouterr().err.strip().splitlines() if ": warning: " not in line]


def test_cli_bad_input_exits_2(tmp_path, capsys):
    from styleenv_cli.main import main

    out = tmp_path / "run"
    assert main(["train", "--config", "configs/tiny.toml", "--output", str(out), "--set", "no_such_key=1"]) == 2
    assert "unknown config key" in capsys.readouterr().err
    missing = tmp_path / "nonexistent.toml"
    assert main(["train", "--config", str(missing), "--output", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"styleenv train: error: cannot read config {missing}: No such file or directory"]
    assert not out.exists()  # refused before the output folder is made


def test_cli_help_names_the_seed_of_the_held_back_pairs_and_no_sphinx_roles(capsys):
    from styleenv_cli.main import main

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    assert "holdout_seed" in out and ":data:" not in out


def test_cli_missing_data_folder_in_a_list_exits_2(tmp_path, capsys):
    from styleenv_cli.main import main

    present, missing = tmp_path / "photos", tmp_path / "no-such-folder"
    present.mkdir()
    for i in range(3):
        Image.fromarray(np.full((40, 40, 3), 60 * i, dtype=np.uint8)).save(present / f"{i}.png")
    argv = ["train", "--config", "configs/tiny.toml", "--output", str(tmp_path / "run"),
            "--set", f'content=["{present}", "{missing}"]', "--set", f'style=["{present}", "{missing}"]']
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(missing) in err[0]
    assert not (tmp_path / "run").exists()  # the folder it created is removed again


def test_sigterm_saves_a_checkpoint_that_resumes(tmp_path):
    import os
    import queue
    import signal
    import subprocess
    import sys
    import threading

    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "styleenv", "train", "--config", "configs/tiny.toml", "--output", str(out),
           "--set", "total_steps=100000", "--set", "checkpoint_every=0", "--set", "eval_every=8", "--verbose"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    lines: queue.Queue = queue.Queue()

    def next_line() -> str:
        """The child's next line of stdout ("" at its end); a deadline, not a speed check: a stalled child fails
        the test instead of hanging it."""
        try:
            return lines.get(timeout=300)
        except queue.Empty:
            pytest.fail("the training process printed nothing for 300 s")

    with open(tmp_path / "stderr.txt", "w+") as stderr:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env)
        threading.Thread(target=lambda: [*map(lines.put, proc.stdout), lines.put("")], daemon=True).start()
        try:
            assert "training in" in next_line()  # printed once the model is built
            while (line := next_line()) and not line.startswith("step 8:"):
                pass  # the evaluation at step 8 shows steps past the warm-up were taken
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=120)
        finally:
            proc.kill()
        stderr.seek(0)
        err = stderr.read()
    assert line.startswith("step 8:"), err
    assert proc.returncode == 130, err
    warned = [line for line in err.splitlines() if ": warning: " in line]  # the built-in images, said once each
    assert len(warned) == 2 and len(set(warned)) == 2, err
    saved = json.loads((out / "checkpoints" / "last.json").read_text())["num_timesteps"]
    assert saved > 0 and (out / "final.pt").is_file()
    cfg = load_config("configs/tiny.toml", {"output": str(out), "total_steps": saved + 2})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        resumed = build(cfg, resume=True)
    assert resumed.resumed and resumed.model.num_timesteps == saved


def test_resume_without_a_run_is_refused(tmp_path, capsys):
    from styleenv_cli.main import main

    missing = tmp_path / "mistyped"
    assert main(["train", "--output", str(missing), "--resume"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no run to resume" in err[0] and str(missing) in err[0]
    assert not missing.exists()  # nothing started, nothing created


@pytest.mark.parametrize("flag, value", [("--init", "missing.pt"), ("--content", "no-such-folder"), ("--device", "cuda")])
def test_overwrite_removes_nothing_when_a_later_check_fails(tmp_path, capsys, flag, value):
    from styleenv_cli.main import main

    if flag == "--device" and torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    run = tmp_path / "run"
    earlier = {"config.json": "{}", "final.pt": "weights", "eval.jsonl": '{"step": 0}\n', "checkpoints/last.zip": "zip"}
    for name, text in earlier.items():
        (run / name).parent.mkdir(parents=True, exist_ok=True)
        (run / name).write_text(text)
    value = value if flag == "--device" else str(tmp_path / value)
    assert main(["train", "--config", "configs/tiny.toml", "--output", str(run), "--overwrite", flag, value]) == 2
    assert len(_errors(capsys)) == 1
    assert sorted(p.relative_to(run).as_posix() for p in run.rglob("*") if p.is_file()) == sorted(earlier)
    assert {name: (run / name).read_text() for name in earlier} == earlier


def test_a_diverging_run_stops_in_one_line_and_saves_no_weights(tmp_path, capsys):
    from styleenv_cli.main import main

    run = tmp_path / "run"
    assert main(["train", "--config", "configs/tiny.toml", "--output", str(run), "--set", "generative_lr=1e4"]) == 2
    err = _errors(capsys)
    assert len(err) == 1 and "diverged at step" in err[0] and "nothing was saved" in err[0], err
    assert "learning rates" in err[0]
    assert not (run / "final.pt").exists() and not (run / "checkpoints" / "last.zip").exists()


def test_cli_names_an_image_that_passes_the_header_check_but_does_not_decode(tmp_path, capsys):
    from styleenv_cli.main import main

    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(np.full((40, 40, 3), 90, dtype=np.uint8)).save(photos / "a.png")  # the evaluation pair
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "whole.jpg")
    for name in ("b.jpg", "c.jpg", "d.jpg"):
        (photos / name).write_bytes((tmp_path / "whole.jpg").read_bytes()[:1500])
    argv = ["train", "--config", "configs/tiny.toml", "--output", str(tmp_path / "run"), "--content", str(photos),
            "--no-holdout", "--set", "eval_pairs=1", "--set", "total_steps=6"]
    assert main(argv) == 2
    err = _errors(capsys)
    assert len(err) == 1 and str(photos) in err[0] and "skip_bad_images=true" in err[0], err
    with pytest.warns(UserWarning, match="skipping content image"):  # the same draws now skip it
        assert main([*argv, "--overwrite", "--set", "skip_bad_images=true"]) == 0

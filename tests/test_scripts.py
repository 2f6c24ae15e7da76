"""scripts/: the benchmarks measure what they print, and user mistakes end in one error line."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from conftest import need

ROOT = Path(__file__).resolve().parents[1]
MB = 2**20


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _resident(megabytes: int) -> bytearray:
    """A block of memory with every page written (resident)."""
    block = bytearray(megabytes * MB)
    block[::4096] = b"\x01" * (len(block) // 4096)
    return block


def _error_line(capsys, run) -> str:
    """The last stderr line of ``run()``, which must exit with status 2."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        run()
    assert exit_.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


def test_peak_memory_is_the_benchmarks_own():
    """A benchmark process started by a larger one (bench_stylize's workers are) reports its own peak
    resident memory, not its parent's: Linux carries ``ru_maxrss`` across ``exec``."""
    block = _resident(1024)
    code = "from styleenv.memory import peak_rss_mb; print(peak_rss_mb())"
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    del block
    assert 0 < float(child.stdout) < 1024


def test_bench_env_counts_memory_shared_with_a_worker_once():
    """Forked workers share this process's pages: the total counts them once (PSS), not once per process."""
    bench_env = _script("bench_env")
    block = _resident(256)
    before, _ = bench_env.memory_mb([])
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker: waits, touching nothing
        os.read(read, 1)
        os._exit(0)
    try:
        total, per_worker = bench_env.memory_mb([pid])
    finally:
        os.write(write, b"x")
        os.waitpid(pid, 0)
    del block
    assert total - before < 64  # summed resident sizes: the whole process again, over 256 MB more
    assert per_worker > 128  # half of the block is the worker's share


def test_bench_train_acting_clock_starts_after_a_device_sync(monkeypatch):
    """On CUDA the reset's queued work must not be timed as acting: the device is synchronised
    before the clock starts, and again before it stops."""
    bench_train = _script("bench_train")
    events: list[str] = []
    monkeypatch.setattr(bench_train, "_sync", lambda device: events.append("sync"))
    monkeypatch.setattr(bench_train.time, "perf_counter", lambda: events.append("clock") or 0.0)
    model = SimpleNamespace(device="cuda", predict=lambda obs, deterministic: events.append("act") or (obs, None))
    env = SimpleNamespace(reset=lambda: events.append("reset") or 0, step=lambda action: events.append("step") or (0,))
    bench_train.acting_seconds(model, env, 2)
    assert events == ["reset", "sync", "clock", "act", "step", "act", "step", "sync", "clock"]


def test_sizes_outside_the_envs_bounds_end_in_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["bench_env.py", "--sizes", "32", "5000"])
    assert _error_line(capsys, _script("bench_env").main) == \
        "bench_env.py: error: --sizes must lie in 16..4096, got [32, 5000]"
    assert _error_line(capsys, lambda: _script("bench_train").main(["--size", "4100"])).endswith(
        "error: image_size must lie in 16..4096 pixels, got 4100")
    for folder in ("content", "style", "release"):
        (tmp_path / folder).mkdir()
    baseline = ["baseline_returns.py", "--contents", str(tmp_path / "content"), "--styles", str(tmp_path / "style"),
                "--release", str(tmp_path / "release")]
    monkeypatch.setattr(sys, "argv", [*baseline, "--sizes", "5000"])
    assert _error_line(capsys, _script("baseline_returns").main) == \
        "baseline_returns.py: error: --sizes must lie in 16..4096, got [5000]"
    monkeypatch.setattr(sys, "argv", baseline)
    assert _error_line(capsys, _script("baseline_returns").main).startswith(
        f"baseline_returns.py: error: no content images found in folder {tmp_path / 'content'}")


def test_recipe_figures_name_a_missing_picture_in_one_line(tmp_path, capsys):
    (tmp_path / "content").mkdir()
    (tmp_path / "style").mkdir()
    line = _error_line(capsys, lambda: _script("make_recipe_figures").main(["--data", str(tmp_path)]))
    assert line.endswith(f"error: --data {tmp_path}: content/adain_cornell.jpg is missing (pass the shared data folder)")


def test_recipe_figures_stop_when_stylize_fails(tmp_path, monkeypatch):
    """A failed ``styleenv stylize`` stops the video figure with its exit status (not an assertion)."""
    need("imageio", "video")
    import styleenv_cli.main

    figures = _script("make_recipe_figures")
    for kind, name in (("content", figures.CONTENTS[0]), ("style", figures.STYLES[1])):
        (tmp_path / kind).mkdir()
        Image.fromarray(np.full((64, 64, 3), 128, np.uint8)).save(tmp_path / kind / name)
    monkeypatch.setattr(styleenv_cli.main, "main", lambda argv: 2)
    with pytest.raises(SystemExit, match=r"^styleenv stylize .* failed \(exit 2\)$"):
        figures.video(tmp_path, tmp_path, 1, None)

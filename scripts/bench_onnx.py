#!/usr/bin/env python
"""Seconds per step of the ONNX export in onnxruntime against the PyTorch Stylizer, on the CPU.

For each size, the shipped checkpoint (or ``--release DIR``) is exported to a temporary file,
one warm-up step runs in each runtime, then ``--steps`` deterministic steps run alternately in
onnxruntime and PyTorch (so that load from other processes hits both alike), on a random square
content and style. Prints the median seconds per step of each, and the largest absolute
difference of the last step's images::

    python scripts/bench_onnx.py --sizes 256 512 --threads 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agents.default import default_checkpoint  # noqa: E402
from agents.onnx_export import export_onnx  # noqa: E402
from agents.onnx_runtime import OnnxStylizer  # noqa: E402
from agents.release import CheckpointError, load_checkpoint, load_release  # noqa: E402
from agents.stylizer import Stylizer  # noqa: E402

MIN_SIZE = 16  # image side, px


def _timed_steps(runner, content: torch.Tensor, code, steps: int) -> tuple[list[float], torch.Tensor]:
    times, last = [], None
    start = time.perf_counter()
    for _, x in runner.steps(content, code, steps):
        now = time.perf_counter()
        times.append(now - start)
        last = x.clone()
        start = time.perf_counter()
    return times, last


def bench(actor, builder, size: int, steps: int, threads: int) -> dict:
    generator = torch.Generator().manual_seed(0)
    content, style = torch.rand(2, 1, 3, size, size, generator=generator)
    with tempfile.TemporaryDirectory() as tmp:
        files = export_onnx(actor, builder, Path(tmp) / "model.onnx")
        onnx_runner = OnnxStylizer(files["step"], threads=threads)
        torch_runner = Stylizer(actor, builder, device="cpu")
        runners = {"onnxruntime": onnx_runner, "pytorch": torch_runner}
        codes = {name: r.encode_style(style) for name, r in runners.items()}
        times: dict[str, list[float]] = {name: [] for name in runners}
        last = {}
        for name, r in runners.items():
            _timed_steps(r, content, codes[name], 1)  # warm-up
        moving = {name: content for name in runners}
        for _ in range(steps):  # alternate single steps
            for name, r in runners.items():
                t, x = _timed_steps(r, moving[name], codes[name], 1)
                times[name] += t
                moving[name] = last[name] = x
    return {"size": size, "steps": steps, "threads": threads,
            **{f"{name}_s_per_step": round(statistics.median(t), 4) for name, t in times.items()},
            "max_abs_diff_last_step": float((last["onnxruntime"] - last["pytorch"]).abs().max())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512], help=f"image sides, px (at least {MIN_SIZE})")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2, help="threads of both runtimes (default: %(default)s)")
    parser.add_argument("--release", type=Path, help="the released weights' folder (default: the shipped checkpoint)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.steps < 1 or args.threads < 1 or min(args.sizes) < MIN_SIZE:
        parser.error(f"--steps and --threads must be at least 1, --sizes at least {MIN_SIZE}")
    try:
        actor, builder = load_release(args.release) if args.release else load_checkpoint(default_checkpoint())[:2]
    except CheckpointError as err:
        parser.error(str(err))
    torch.set_num_threads(args.threads)
    rows = [bench(actor, builder, size, args.steps, args.threads) for size in args.sizes]
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    for r in rows:
        print(f"{r['size']} px: onnxruntime {r['onnxruntime_s_per_step']:.3f} s/step, PyTorch "
              f"{r['pytorch_s_per_step']:.3f} s/step ({r['threads']} threads); max abs diff after "
              f"{r['steps']} steps {r['max_abs_diff_last_step']:.1e}")


if __name__ == "__main__":
    main()

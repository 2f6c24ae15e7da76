#!/usr/bin/env python
"""Run the README's every command and Python snippet in a fresh clone with no ``../shared`` beside it.

The checkout is cloned (``git clone``: its committed state) into a new temporary folder, so no
``shared`` folder is beside the clone; a new user's files are made there (``photo.jpg``,
``painting.jpg``, ``photos/`` with 3 images, ``paintings/`` with 2, masks ``sky.png`` and
``sea.png``, a 4-frame ``clip.mp4``, all tiny); then every line of
the README's ``bash`` blocks and every ``python`` block runs in the clone with this Python, the
clone first on ``PYTHONPATH`` (checked), without network use. :data:`RULES` say where a command
runs other than as written and why: installs (CI's own step), the test suite (run just before),
shorter training runs, smaller benchmark sizes, and commands that need files a fresh clone does
not have, which must fail with one line on stderr and exit code 2. A rule that matches no
README line fails the check (the README moved on). Prints one line per command; exit code 1 if
any failed.

    python scripts/check_readme.py            # what .ci/run calls after the test suite
    python scripts/check_readme.py --keep     # keep the clone for a look (its path is printed)
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Rule:
    """How README lines matching ``pattern`` (a regular expression) run.

    :param pattern: matched with :func:`re.search` against the line
    :param reason: why the line does not run exactly as written
    :param skip: do not run it
    :param replace: ``(regex, replacement)`` pairs applied to the line
    :param append: arguments added at the end
    :param fails: the line as written must end with exit code 2 and one error line on stderr
        (a script's argparse usage lines may come before it); it then also runs with
        ``replace``/``append`` applied, if any, and must succeed
    :param cuda: the line asks for a GPU: where there is none it must fail (as ``fails``); where
        there is one it runs with ``replace``/``append`` applied
    """

    pattern: str
    reason: str
    skip: bool = False
    replace: list[tuple[str, str]] = field(default_factory=list)
    append: str = ""
    fails: bool = False
    cuda: bool = False
    used: int = 0


RULES = [
    Rule(r"^pip install -e", "CI's .ci/run installs the checkout with this command into a fresh venv first",
         skip=True),
    Rule(r"^pip install torch .*whl/cpu", "a network install of PyTorch's CPU build (the venv has torch)",
         skip=True),
    Rule(r"^python -m pytest", "CI's .ci/run runs the suite just before this check", skip=True),
    Rule(r"^styleenv train --config configs/cpu\.toml --content",
         "the config's 1,000 steps take minutes; 12 steps show the command works", append="--set total_steps=12"),
    Rule(r"^styleenv train --config configs/cpu\.toml --resume", "continues the run above by 4 steps",
         append="--set total_steps=16"),
    Rule(r"^styleenv train --config configs/cpu\.toml --init default", "10 steps",
         append="--set total_steps=10"),
    Rule(r"^styleenv train --config configs/release-finetune",
         "reads the shared data folder and the released weights, which a fresh clone has not: must fail with one line",
         fails=True),
    Rule(r"^python scripts/ship_checkpoint\.py",
         "the run folder and snapshots it names stay outside the repository: must fail with one line", fails=True),
    Rule(r"^styleenv evaluate .*release:released/",
         "a fresh clone has not the released weights: fails with one line; then without them, at 32 px",
         fails=True, replace=[(r" release:released/", "")], append="--sizes 32 --steps 2"),
    Rule(r"^python scripts/bench_env\.py", "a smaller size, fewer envs and steps",
         replace=[(r"--sizes [\d ]+", "--sizes 32 "), (r"--envs [\d ]+", "--envs 1 2 "), (r"--steps \d+", "--steps 1")]),
    Rule(r"^python scripts/baseline_returns\.py",
         "reads the shared data and the released weights, which a fresh clone has not: must fail with one line", fails=True),
    Rule(r"^styleenv evaluate --agents examples/my_agent\.py", "2 steps at 32 px",
         replace=[(r"--sizes 128", "--sizes 32")], append="--steps 2"),
    Rule(r"^python scripts/bench_stylize\.py --device cuda", "without a GPU: must fail in one line; with one, "
         "smaller sizes", cuda=True, replace=[(r"--sizes [\dx ]+", "--sizes 32 64 ")], append="--steps 2"),
    Rule(r"^python scripts/bench_stylize\.py --sizes 256", "smaller sizes",
         replace=[(r"--sizes [\d ]+", "--sizes 32 64 ")], append="--steps 2"),
    Rule(r"^python scripts/bench_stylize\.py --sizes 3840x2160", "a smaller frame of the same shape",
         replace=[(r"3840x2160", "96x54")], append="--steps 2"),
    Rule(r"^python scripts/bench_train\.py", "a smaller size, fewer updates",
         replace=[(r"--size \d+", "--size 32")], append="--updates 2 --warmup 8"),
]


def readme_blocks(text: str) -> list[tuple[str, str]]:
    """The fenced code blocks of a Markdown text as ``(language, body)``."""
    return [(m.group(1), m.group(2)) for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.S | re.M)]


def bash_lines(body: str) -> list[str]:
    """The commands of a bash block: non-empty lines, trailing comments kept (the shell drops them)."""
    return [line.strip() for line in body.splitlines() if line.strip() and not line.strip().startswith("#")]


def rule_for(line: str) -> Rule | None:
    for rule in RULES:
        if re.search(rule.pattern, line):
            rule.used += 1
            return rule
    return None


def adjusted(line: str, rule: Rule) -> str:
    command = line.split(" #")[0].rstrip()
    for regex, replacement in rule.replace:
        command = re.sub(regex, replacement, command)
    return f"{command} {rule.append}".rstrip()


def make_user_files(clone: Path) -> None:
    """What the README assumes a user has: a photo and a painting, a few of each in folders."""
    rng = np.random.default_rng(0)

    def picture(path: Path, w: int, h: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        yy, xx = np.mgrid[0:h, 0:w]
        base = np.stack([xx / w, yy / h, (xx * yy) / (w * h)], axis=-1) * 200
        Image.fromarray((base + rng.integers(0, 55, (h, w, 3))).astype(np.uint8)).save(path)

    picture(clone / "photo.jpg", 64, 48)
    picture(clone / "painting.jpg", 48, 48)
    for i in range(3):
        picture(clone / "photos" / f"photo-{i}.jpg", 72, 56)
    for i in range(2):
        picture(clone / "paintings" / f"painting-{i}.png", 56, 56)
    sky = np.zeros((48, 64), np.uint8)
    sky[:20] = 255
    Image.fromarray(sky).save(clone / "sky.png")  # masks of the photo's size
    Image.fromarray(255 - sky).save(clone / "sea.png")
    import imageio.v2 as imageio  # the video extra (in .[dev])

    with imageio.get_writer(clone / "clip.mp4", format="FFMPEG", fps=5, macro_block_size=2,
                            ffmpeg_log_level="error") as clip:  # 4 frames of a camera panning over a picture
        wide = np.asarray(Image.open(clone / "photo.jpg").resize((76, 48)))
        for t in range(4):
            clip.append_data(np.ascontiguousarray(wide[:, 3 * t : 3 * t + 64]))


def run(command: str, clone: Path, env: dict[str, str], timeout: int, is_python: bool = False) -> tuple[int, str, float]:
    start = time.perf_counter()
    argv = [sys.executable, "-c", command] if is_python else ["bash", "-c", command]
    try:
        proc = subprocess.run(argv, cwd=clone, env=env, capture_output=True, text=True, timeout=timeout)
        rc, err = proc.returncode, proc.stderr
    except subprocess.TimeoutExpired:
        rc, err = 124, f"timed out after {timeout} s"
    return rc, err, time.perf_counter() - start


def check(clone: Path, timeout: int) -> int:
    """Run every README block in ``clone``; returns the number of failures."""
    env = {**os.environ, "PYTHONPATH": str(clone), "PIP_NO_INDEX": "1", "PYTHONUNBUFFERED": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("STYLEENV_SHARED", None)
    where = subprocess.run([sys.executable, "-c", "import styleenv, agents, styleenv_cli, sys; "
                            "print(*(m.__file__ for m in (styleenv, agents, styleenv_cli)))"],
                           cwd=clone, env=env, capture_output=True, text=True, check=True).stdout.split()
    if not all(Path(p).resolve().is_relative_to(clone.resolve()) for p in where):
        print(f"the packages are not imported from the clone: {where}")
        return 1
    cuda = subprocess.run([sys.executable, "-c", "import torch; print(torch.cuda.is_available())"],
                          env=env, capture_output=True, text=True, check=True).stdout.strip() == "True"
    failures = 0
    for language, body in readme_blocks((clone / "README.md").read_text()):
        jobs: list[tuple[str, str, bool, bool]] = []  # (label, command, python, must fail)
        if language == "python":
            jobs.append(("python snippet: " + body.strip().splitlines()[0], body, True, False))
        elif language == "bash":
            for line in bash_lines(body):
                rule = rule_for(line)
                if rule and rule.skip:
                    print(f"SKIP  {line}\n      ({rule.reason})")
                    continue
                if rule and rule.cuda and not cuda:
                    jobs.append((f"{line}   ({rule.reason})", line, False, True))
                    continue
                if rule and rule.fails:
                    jobs.append((line, line, False, True))
                if rule is None:
                    jobs.append((line, line, False, False))
                elif rule.replace or rule.append or not rule.fails:
                    jobs.append((f"{adjusted(line, rule)}   ({rule.reason})", adjusted(line, rule), False, False))
        for label, command, is_python, must_fail in jobs:
            rc, err, seconds = run(command, clone, env, timeout, is_python)
            lines = err.strip().splitlines()
            if must_fail:
                ok = rc == 2 and bool(lines) and "error:" in lines[-1]
                ok = ok and (len(lines) == 1 or (command.startswith("python ") and lines[0].startswith("usage:")))
                outcome = f"exit {rc}: {lines[-1] if lines else 'no message'}"
            else:
                ok = rc == 0
                outcome = f"exit {rc}"
            print(f"{'ok' if ok else 'FAIL':5} {label}\n      {outcome}, {seconds:.1f} s")
            if not ok:
                failures += 1
                print("      " + "\n      ".join(lines[-15:]))
    for rule in RULES:
        if rule.used == 0:
            print(f"FAIL  rule {rule.pattern!r} matches no README line (update scripts/check_readme.py)")
            failures += 1
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=ROOT, help="the git checkout to clone (default: this one)")
    parser.add_argument("--keep", action="store_true", help="keep the clone (its path is printed)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per command (default: %(default)s)")
    args = parser.parse_args(argv)
    parent = Path(tempfile.mkdtemp(prefix="styleenv-readme-"))
    clone = parent / "styleenv"
    try:
        subprocess.run(["git", "clone", "--quiet", str(args.repo), str(clone)], check=True)
        if (parent / "shared").exists():
            raise SystemExit(f"{parent / 'shared'} exists: the check needs a clone without it")
        make_user_files(clone)
        print(f"fresh clone of {args.repo} in {clone} (no ../shared), Python {sys.executable}")
        start = time.perf_counter()
        failures = check(clone, args.timeout)
        print(f"{'all README commands and snippets ran' if not failures else f'{failures} failed'} "
              f"in {time.perf_counter() - start:.0f} s")
        return 1 if failures else 0
    finally:
        if args.keep:
            print(f"kept {clone}")
        else:
            shutil.rmtree(parent, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

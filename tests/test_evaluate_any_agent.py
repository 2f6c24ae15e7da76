"""The evaluate command with agents of the user's own, explicit pairs, the env's return and
merged reports. Tiny images and 2-step episodes keep it fast."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from agents.factory import AgentSpecError, make_agent
from styleenv.evaluation.results import read_rows
from styleenv_cli.main import main

SIZE = 32

AGENT_FILE = '''
import numpy as np

class HalfGrey:
    """Moves halfway to grey every step."""

    def __init__(self, steps, device="cpu"):
        self.steps = steps

    def act(self, observation):
        return (observation["moving"] / 255.0 + 0.5) / 2

def make_bad():
    return object()
'''


@pytest.fixture
def images(tmp_path):
    rng = np.random.default_rng(0)
    for name in ("c1.png", "c2.png", "s1.png"):
        Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(tmp_path / name)
    (tmp_path / "pairs.csv").write_text("content,style\nc1.png,s1.png\nc2.png,s1.png\n")
    (tmp_path / "my_agent.py").write_text(AGENT_FILE)
    return tmp_path


def _run(images, out, *extra):
    return main(["evaluate", "--pairs", str(images / "pairs.csv"), "--sizes", str(SIZE), "--steps", "2", "--out",
                 str(out), "--quiet", "--no-plots", *extra])  # fmt: skip


def test_custom_agent_from_a_file_on_explicit_pairs_with_the_v1_return(images, capsys):
    out = images / "out"
    assert _run(images, out, "--agents", f"{images / 'my_agent.py'}:HalfGrey", "identity", "--env", "v1") == 0
    table = capsys.readouterr().out
    assert "| HalfGrey (step 2) |" in table and "32px Return ↑" in table
    rows = read_rows(out / "rows.csv")
    assert {(r["content"], r["style"]) for r in rows} == {("c1.png", "s1.png"), ("c2.png", "s1.png")}  # not 2 x 1 x 2
    grey = sorted((r for r in rows if r["agent"] == "HalfGrey"), key=lambda r: (r["content"], r["step"]))
    assert grey[1]["return"] == pytest.approx(grey[0]["reward"] + grey[1]["reward"])
    identity = [r for r in rows if r["agent"] == "identity"]
    assert all(r["reward"] < 0 and r["content_loss"] == pytest.approx(0, abs=1e-6) for r in identity)
    assert json.loads((out / "run.json").read_text())["env"] == "styleenv/StyleTransfer-v1"


def test_module_specs_and_their_errors(images, monkeypatch):
    monkeypatch.syspath_prepend(str(images))
    name, agent = make_agent("my_agent:HalfGrey", steps=4)
    assert name == "HalfGrey" and agent.steps == 4
    with pytest.raises(AgentSpecError, match="no act"):
        make_agent("my_agent:make_bad")
    with pytest.raises(AgentSpecError, match="has no class or function named Nope"):
        make_agent("my_agent:Nope")
    with pytest.raises(AgentSpecError, match="cannot import no_such_pkg.mod"):
        make_agent("no_such_pkg.mod:Agent")


def test_report_only_merges_several_folders(images, capsys):
    assert _run(images, images / "a", "--agents", "identity") == 0
    assert _run(images, images / "b", "--agents", "copy-style") == 0
    capsys.readouterr()
    merged = images / "merged"
    assert main(["evaluate", "--report-only", "--merge", str(images / "a"), str(images / "b"), "--out", str(merged),
                 "--steps", "2", "--no-plots"]) == 0  # fmt: skip
    table = capsys.readouterr().out
    assert "| identity (step 2) |" in table and "| copy-style (step 2) |" in table
    assert len(read_rows(merged / "rows.csv")) == 2 * 2 * 2


def test_another_env_version_in_the_same_folder_is_refused(images, capsys):
    assert _run(images, images / "a", "--agents", "identity") == 0
    capsys.readouterr()
    assert _run(images, images / "a", "--agents", "identity", "--env", "v1") == 2
    assert "holds a run on styleenv/StyleTransfer-v0" in capsys.readouterr().err


def test_bad_pairs_files_are_one_line_errors(images, capsys):
    (images / "bad.csv").write_text("content,style\nc1.png,missing.png\n")
    assert main(["evaluate", "--pairs", str(images / "bad.csv"), "--out", str(images / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "line 2: style image missing.png does not exist" in err[0]

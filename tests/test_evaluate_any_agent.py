"""The evaluate command with agents of the user's own, explicit pairs, the env's return and
merged reports. Tiny images and 2-step episodes keep it fast."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from agents.default import DEFAULT_CHECKPOINT
from agents.factory import AgentSpecError, make_agent, make_agents
from agents.release import load_checkpoint, save_checkpoint
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

class Small:
    def act(self, observation):
        return np.zeros((2, 2), np.float32)

class NaNs:
    def act(self, observation):
        return np.full(observation["moving"].shape, np.nan, np.float32)

class Bytes:
    def act(self, observation):
        return observation["moving"]
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
                 "--no-plots"]) == 0  # fmt: skip
    table = capsys.readouterr().out
    assert "| identity (step 2) |" in table and "| copy-style (step 2) |" in table  # the runs' steps, without --steps
    assert len(read_rows(merged / "rows.csv")) == 2 * 2 * 2


def test_report_only_reports_every_row_of_the_folder(images, capsys):
    out = images / "out"
    assert _run(images, out, "--agents", "identity", "copy-style", "--sizes", "32", "48") == 0
    (out / "table.md").unlink()
    capsys.readouterr()
    assert main(["evaluate", "--report-only", "--out", str(out), "--no-plots"]) == 0  # no agents, pairs, sizes or steps
    table = (out / "table.md").read_text()
    assert table == capsys.readouterr().out.strip() + "\n"
    assert "| copy-style (step 2) |" in table and "Means over 2 pairs at 32px, 2 pairs at 48px" in table
    assert (out / "sheets" / "copy-style_48.png").is_file()
    assert main(["evaluate", "--report-only", "--out", str(out), "--steps", "3"]) == 2
    assert "holds a run with --steps 2" in capsys.readouterr().err
    for folder, message in ((images / "none", "holds no rows.csv"), (images / "empty", "rows.csv holds no rows")):
        if folder.name == "empty":
            folder.mkdir()
            (folder / "rows.csv").write_text((out / "rows.csv").read_text().splitlines()[0] + "\n")
        assert main(["evaluate", "--report-only", "--out", str(folder)]) == 2
        assert message in capsys.readouterr().err
    assert not (images / "none").exists()


@pytest.mark.parametrize(
    ("agent", "message"),
    [
        ("Small", "action must have shape (3, 32, 32)"),
        ("NaNs", "action contains NaN or infinity"),
        ("Bytes", "action must be a float image in [0, 1], got dtype uint8"),
    ],
)
def test_bad_actions_are_one_line_errors_that_keep_the_rows(images, capsys, agent, message):
    out = images / "out"
    assert _run(images, out, "--agents", "identity", f"{images / 'my_agent.py'}:{agent}") == 2
    err = capsys.readouterr().err
    assert f"styleenv evaluate: error: agent {agent!r} on c1.png / s1.png at 32 px: {message}" in err.strip().splitlines()[-1]
    assert {(r["agent"], r["content"]) for r in read_rows(out / "rows.csv")} == {("identity", "c1.png")}  # kept


def test_another_env_version_in_the_same_folder_is_refused(images, capsys):
    assert _run(images, images / "a", "--agents", "identity") == 0
    capsys.readouterr()
    assert _run(images, images / "a", "--agents", "identity", "--env", "v1") == 2
    assert "holds a run on styleenv/StyleTransfer-v0" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"content,style\nc1.png,missing.png\n", "line 2: style image missing.png does not exist"),
        (b"content,style\n\xff\xfe\x00c1.png,s1.png\n", "is not a UTF-8 CSV with the columns content,style"),
    ],
)
def test_bad_pairs_files_are_one_line_errors(images, capsys, text, message):
    (images / "bad.csv").write_bytes(text)
    assert main(["evaluate", "--pairs", str(images / "bad.csv"), "--out", str(images / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not (images / "o").exists()


def test_checkpoints_of_one_name_are_told_apart_and_never_mixed(images, capsys):
    actor, builder, _ = load_checkpoint(DEFAULT_CHECKPOINT)
    for run in ("a", "b"):  # the same weights, other metadata: another sha256
        save_checkpoint(images / "runs" / run / "final.pt", actor, builder, metadata={"run": run})
    a, b = (f"checkpoint:{images / 'runs' / run / 'final.pt'}" for run in ("a", "b"))
    assert _run(images, images / "both", "--agents", a, b, "--sheet-pairs", "0") == 0
    assert {r["agent"] for r in read_rows(images / "both" / "rows.csv")} == {"ckpt-a-final", "ckpt-b-final"}
    assert not (images / "both" / "sheets").exists()
    info = json.loads((images / "both" / "agents.json").read_text())
    assert info["ckpt-a-final"]["weights"]["sha256"] != info["ckpt-b-final"]["weights"]["sha256"]
    for out, spec in (("out-a", a), ("out-b", b)):
        assert _run(images, images / out, "--agents", spec) == 0
    rows = (images / "out-a" / "rows.csv").read_text()
    capsys.readouterr()
    assert _run(images, images / "out-a", "--agents", b) == 2  # ckpt-final of other weights: not resumed
    err = capsys.readouterr().err.strip().splitlines()
    assert "holds rows of agent 'ckpt-final' from " in err[-1] and "use another --out" in err[-1]
    assert (images / "out-a" / "rows.csv").read_text() == rows
    assert _run(images, images / "out-a", "--agents", a) == 0  # the same weights resume
    assert "0 episodes run, 2 already in the CSV" in capsys.readouterr().out
    merge = ["evaluate", "--report-only", "--merge", str(images / "out-a"), str(images / "out-b"), "--out", str(images / "m")]
    assert main(merge) == 2
    assert "agent 'ckpt-final' read other weights in " in capsys.readouterr().err
    info = images / "out-b" / "agents.json"  # an older run's: no record of the weights
    info.write_text(json.dumps({k: {"parameters": v["parameters"]} for k, v in json.loads(info.read_text()).items()}))
    assert _run(images, images / "out-b", "--agents", b) == 2
    assert "from a run that did not record its weights; use another --out" in capsys.readouterr().err


def test_make_agents_names_files_of_one_stem_by_their_folders(tmp_path):
    for folder in ("x/a", "y/a", "b"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "final.pt").write_bytes(DEFAULT_CHECKPOINT.read_bytes())
    specs = [f"checkpoint:{tmp_path / f / 'final.pt'}" for f in ("x/a", "y/a", "b")]
    agents, weights = make_agents([*specs, "identity"])
    assert list(agents) == ["ckpt-x-a-final", "ckpt-y-a-final", "ckpt-b-final", "identity"]
    assert set(weights) == set(agents) - {"identity"}
    assert list(make_agents(specs[:1])[0]) == ["ckpt-final"]
    with pytest.raises(AgentSpecError, match="agent 'ckpt-final' is given twice"):
        make_agents(specs[:1] * 2)

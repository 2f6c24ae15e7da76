"""The evaluation: metrics against hand computations, rollouts through the protocol, the CSV,
the table, and bad inputs. Tiny images (32 px) and short episodes keep it fast."""

from __future__ import annotations

import csv
import json

import gymnasium as gym
import numpy as np
import pytest
import torch

from conftest import need
from agents.adapters import SB3Agent
from agents.baselines import IdentityAgent
from styleenv import losses
from styleenv.data import ImageSource
from styleenv.evaluation.metrics import PairMetrics
from styleenv.evaluation.report import markdown_table
from styleenv.evaluation.results import COLUMNS, EvaluationError, read_rows
from styleenv.evaluation.run import Settings, evaluate, select
from styleenv.vgg import loss_network
from styleenv_cli.main import main

SIZE = 32


def _images(n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        base = rng.integers(0, 256, (4, 4, 3)).astype(np.uint8)
        out.append(np.kron(base, np.ones((SIZE // 4, SIZE // 4, 1), np.uint8)))  # blocky (H, W, 3)
    return out


@pytest.fixture(scope="module")
def sources() -> tuple[ImageSource, ImageSource]:
    return ImageSource(_images(2, 0), kind="content"), ImageSource(_images(2, 1), kind="style")


@pytest.fixture(scope="module")
def net():
    return loss_network("cpu")


def test_settings_default_report_steps_lie_within_the_episode() -> None:
    assert list(Settings(steps=3).report_steps) == [1, 3]
    assert list(Settings().report_steps) == [1, 5, 10]
    Settings(steps=3).check()


def _settings(**kw) -> Settings:
    base = dict(sizes=(SIZE,), steps=3, report_steps=(1, 3), progress=False, sheet_pairs=1)
    return Settings(**(base | kw))


# ------------------------------------------------------------------------------------------ metrics


def test_paper_losses_identical_and_by_hand(net):
    x = torch.rand(1, 3, SIZE, SIZE)
    assert float(losses.paper_content_loss(net, x, x)[0]) == 0.0
    assert float(losses.paper_style_loss(net, x, x)[0]) == pytest.approx(0.0, abs=1e-10)
    feats = [torch.randn(2, 4, 5, 5), torch.randn(2, 8, 3, 3)]
    style = [torch.randn(1, 4, 6, 6), torch.randn(1, 8, 2, 2)]
    got = losses.paper_style_loss_from_stats(losses.style_stats(feats), losses.style_stats(style))
    for n in range(2):
        total = 0.0
        for f, s in zip(feats, style):
            fa, sa = f[n].flatten(1).double().numpy(), s[0].flatten(1).double().numpy()
            fm, sm = fa.mean(1), sa.mean(1)
            fs, ss = np.sqrt(fa.var(1, ddof=1) + 1e-5), np.sqrt(sa.var(1, ddof=1) + 1e-5)
            total += ((fm - sm) ** 2).mean() + ((fs - ss) ** 2).mean()
        assert float(got[n]) == pytest.approx(total / 2, rel=1e-5)
    content = losses.paper_content_loss_from_features(feats, [f[:1] for f in feats])
    assert float(content[0]) == 0.0
    assert float(content[1]) == pytest.approx(float(sum(((f[1] - f[0]) ** 2).mean() for f in feats) / 2), rel=1e-6)


def test_pair_metrics_reuse_env_features_exactly(net):
    content, style, other = (img.transpose(2, 0, 1).copy() for img in _images(3, 5))
    metrics = PairMetrics(net, content, PairMetrics.style_stats(net, style))
    x = torch.from_numpy(np.stack([content, other])).float() / 255
    early = [[f[i : i + 1] for f in net(x)] for i in range(2)]  # relu1_1..relu4_1, as the env computes
    fast = metrics.measure([content, other], early)
    slow = PairMetrics(net, content, metrics.style_stats).measure([content, other], [None, None])
    ref_c = losses.paper_content_loss(net, x, x[:1])
    ref_s = losses.paper_style_loss(net, x, torch.from_numpy(style)[None].float() / 255)
    for i in range(2):
        for got in (fast[i], slow[i]):
            assert got["content_loss"] == pytest.approx(float(ref_c[i]), rel=1e-5, abs=1e-7)
            assert got["style_loss"] == pytest.approx(float(ref_s[i]), rel=1e-5)
    assert fast[0]["ssim"] == pytest.approx(1.0) and fast[0]["content_loss"] == pytest.approx(0.0, abs=1e-9)


# ------------------------------------------------------------------------------------------ runs


def test_identity_gives_zero_content_loss_and_ssim_one(tmp_path, sources):
    result = evaluate({"identity": IdentityAgent()}, *sources, tmp_path, _settings(), plots=False, log=lambda s: None)
    assert result.ran == 4 and len(result.rows) == 4 * 3
    for row in result.rows:
        assert row["content_loss"] == 0.0 and row["ssim"] == pytest.approx(1.0)
        assert row["style_loss"] > 0 and row["seconds"] >= 0
    assert (tmp_path / "sheets" / f"identity_{SIZE}.png").is_file()


class _Grey:
    """A minimal protocol agent: only ``act``, a mid-grey image."""

    def act(self, observation):
        return np.full(observation["moving"].shape, 0.5, np.float32)


class _Halve(gym.ActionWrapper):
    """An agent-side wrapper: the agent's action is twice the image."""

    def action(self, action):
        return np.asarray(action, np.float32) / 2


class _Wrapped:
    parameters = 7
    storage_bytes = 28

    def wrap_env(self, env):
        return _Halve(env)

    def act(self, observation):
        return np.ones(observation["moving"].shape, np.float32)  # halved -> 0.5 grey


def test_protocol_agents_and_env_wrappers(tmp_path, sources):
    result = evaluate({"grey": _Grey(), "wrapped": _Wrapped()}, *sources, tmp_path, _settings(), plots=False,
                      log=lambda s: None)  # fmt: skip
    by_agent = {a: [r for r in result.rows if r["agent"] == a] for a in ("grey", "wrapped")}
    assert len(by_agent["grey"]) == len(by_agent["wrapped"]) == 12
    for g, w in zip(by_agent["grey"], by_agent["wrapped"]):
        assert g["content_loss"] > 0 and g["ssim"] < 1
        assert (g["content_loss"], g["style_loss"], g["ssim"]) == (w["content_loss"], w["style_loss"], w["ssim"])
    assert json.loads((tmp_path / "agents.json").read_text()) == {
        "grey": {"parameters": 0, "storage_bytes": 0, "class": "_Grey"},  # no attributes: 0
        "wrapped": {"parameters": 7, "storage_bytes": 28, "class": "_Wrapped"},
    }
    table = (tmp_path / "table.md").read_text()
    assert "| wrapped (step 1) | 0.0000 | 0.0000 |" in table  # 7 parameters, 28 bytes: 0.0000 M and MiB


class _FakeSB3:
    """What SB3Agent needs of a model: ``predict`` and a ``policy`` module."""

    def __init__(self) -> None:
        self.policy = torch.nn.Linear(3, 2)
        self.calls = []

    def predict(self, observation, deterministic=False):
        self.calls.append(deterministic)
        return np.full(observation["moving"].shape, 2.0, np.float32), None  # halved -> 1.0


def test_sb3_adapter(tmp_path, sources):
    model = _FakeSB3()
    agent = SB3Agent(model, env_wrapper=_Halve)
    assert (agent.parameters, agent.storage_bytes) == (8, 32)
    result = evaluate({"sb3": agent}, *sources, tmp_path, _settings(), plots=False, log=lambda s: None)
    assert len(result.rows) == 12 and set(model.calls) == {True}
    assert all(r["ssim"] < 1 and r["content_loss"] > 0 for r in result.rows)  # white images, not the content


def test_resume_skips_finished_episodes(tmp_path, sources):
    run = lambda: evaluate({"identity": IdentityAgent()}, *sources, tmp_path, _settings(), plots=False,
                           log=lambda s: None)  # fmt: skip
    first = run()
    path = tmp_path / "rows.csv"
    before = path.read_text()
    second = run()
    assert (second.ran, second.skipped) == (0, 4) and path.read_text() == before
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    with open(path, "w", newline="") as fh:  # an interrupted episode: its last step is missing
        writer = csv.DictWriter(fh, COLUMNS)
        writer.writeheader()
        writer.writerows(rows[:-1])
    third = run()
    assert (third.ran, third.skipped) == (1, 3)
    assert len(read_rows(path)) == len(first.rows) == 12


def test_resume_refuses_another_episode_length(tmp_path, sources):
    evaluate({"grey": _Grey()}, *sources, tmp_path, _settings(limit_contents=1, limit_styles=1), plots=False,
             log=lambda s: None)  # fmt: skip
    with pytest.raises(EvaluationError, match="holds a run with --steps 3"):
        evaluate({"grey": _Grey()}, *sources, tmp_path, _settings(steps=2, report_steps=(1,)), plots=False)


def test_deterministic_metrics(tmp_path, sources):
    """The seed draws the contents of a larger pool; one seed gives the same rows twice, another other contents."""
    contents = ImageSource(_images(6, 7), kind="content")
    cols = ("content", "style", "step", "content_loss", "style_loss", "ssim")
    run = lambda seed, folder: [
        tuple(r[c] for c in cols)
        for r in evaluate({"grey": _Grey()}, contents, sources[1], tmp_path / folder,
                          _settings(seed=seed, limit_contents=2, limit_styles=1), plots=False, log=lambda s: None).rows
    ]  # fmt: skip
    first, again, other = run(1, "a"), run(1, "b"), run(2, "c")
    assert len(first) == 2 * 3 and first == again
    picked = lambda rows: {r[0] for r in rows}
    assert picked(first) == {f"content-{i}" for i in select(6, 2, 1, 0)}
    assert picked(other) == {f"content-{i}" for i in select(6, 2, 2, 0)} != picked(first)
    assert [r[3:] for r in other] != [r[3:] for r in first]


def test_markdown_table_shape():
    rows = [
        {"agent": a, "content": "c", "style": "s", "size": size, "step": k, "content_loss": 1.0, "style_loss": 2.0,
         "ssim": 0.5, "seconds": 0.1, "cumulative_seconds": 0.1 * k}
        for a in ("x", "y") for size in (32, 64) for k in (1, 2, 3)
    ]  # fmt: skip
    info = {"x": {"parameters": 371_155, "storage_bytes": 1_484_620}}
    table = markdown_table(rows, info, ["x", "y"], [1, 3]).splitlines()
    body = [line for line in table if line.startswith("| ") and "step" in line]
    assert [line.split(" | ")[0] for line in body] == ["| x (step 1)", "| x (step 3)", "| y (step 1)", "| y (step 3)"]
    assert all(line.count("|") == 3 + 4 * 2 + 1 for line in table[:2] + body)
    assert body[1] == "| x (step 3) | 0.3712 | 1.4158 | 1.0000 | 0.5000 | 2.0000 | 0.3000 | 1.0000 | 0.5000 | 2.0000 | 0.3000 |"


def test_select_is_seeded_and_sorted():
    assert select(5, None, 0, 0) == [0, 1, 2, 3, 4]
    a, b = select(110, 30, 0, 0), select(110, 30, 0, 0)
    assert a == b == sorted(a) and len(set(a)) == 30
    assert select(110, 30, 1, 0) != a


# ------------------------------------------------------------------------------------------ command


pytestmark = pytest.mark.filterwarnings("ignore:no (content|style) images were given:UserWarning")


def _cli(tmp_path, *extra: str) -> int:
    return main(["evaluate", "--sizes", str(SIZE), "--steps", "2", "--limit-contents", "1", "--limit-styles", "1",
                 "--out", str(tmp_path / "out"), "--quiet", "--no-plots", *extra])  # fmt: skip


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--agents", "nonsense"), "unknown agent 'nonsense'"),
        (("--agents", "identity", "--contents", "no/such/folder"), "content folder or file no/such/folder does not exist"),
        (("--agents", "release:no/such/dir"), "release: folder no/such/dir does not exist"),
        (("--agents", "identity", "--report-steps", "5"), "report steps must lie in 1..2"),
        (("--agents", "identity", "--seed", "-1"), "--seed must be 0 or more, got -1"),
        (("--agents", "identity", "--sheet-pairs", "-1"), "--sheet-pairs must be 0 (no sheets) or more, got -1"),
        (("--agents", "identity", "--sizes", "32", "32"), "sizes must each be given once, got [32, 32]"),
        (("--agents", "identity", "--sizes", "16"), "sizes must be at least 17 pixels, got [16]"),  # relu5_1 needs 2 x 2
        (("--agents", "identity", "--sizes", "32", "100000"), "sizes must be at most 4096 pixels, got [32, 100000]"),
        (("--agents", "identity", "--limit-contents", "0"), "--limit-contents must be at least 1, got 0"),
        (("--agents", "identity", "--report-only"), "holds no rows.csv"),
    ],
)
def test_bad_inputs_are_one_line_errors(tmp_path, capsys, extra, message):
    assert _cli(tmp_path, *extra) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("styleenv evaluate: error: ") and message in err[0]
    assert not (tmp_path / "out").exists()  # refused before anything is written


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (dict(limit_styles=0), "--limit-styles must be at least 1, got 0"),
        (dict(steps=0), "--steps must be at least 1, got 0"),
        (dict(report_steps=()), r"report steps must lie in 1\.\.3, got \[\]"),
    ],
)
def test_settings_refuse_bad_values(bad, message):
    """Settings.check at the API; the command's cases (test_bad_inputs_are_one_line_errors) run through it too."""
    with pytest.raises(EvaluationError, match=message):
        _settings(**bad).check()
    _settings(sheet_pairs=0).check()


def test_settings_take_the_auto_device(tmp_path, sources, monkeypatch):
    import styleenv.evaluation.run as run

    asked, used = [], []
    resolve, make_net = run.resolve_device, run.loss_network
    monkeypatch.setattr(run, "resolve_device", lambda spec: asked.append(spec) or resolve(spec))
    monkeypatch.setattr(run, "loss_network", lambda device: used.append(device) or make_net(device))
    result = evaluate({"grey": _Grey()}, *sources, tmp_path, _settings(device="auto", limit_contents=1, limit_styles=1),
                      plots=False, log=lambda s: None)  # fmt: skip
    assert result.ran == 1 and asked == ["auto"]
    assert [torch.device(d).type for d in used] == ["cuda" if torch.cuda.is_available() else "cpu"]


def test_bad_checkpoint_is_a_one_line_error(tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    assert _cli(tmp_path, "--agents", f"checkpoint:{bad}") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a readable PyTorch checkpoint" in err[0]


def test_no_sheets_with_sheet_pairs_0(tmp_path, sources):
    evaluate({"grey": _Grey()}, *sources, tmp_path, _settings(sheet_pairs=0, limit_contents=1, limit_styles=1), plots=False,
             log=lambda s: None)  # fmt: skip
    assert (tmp_path / "table.md").is_file() and not (tmp_path / "sheets").exists() and not (tmp_path / "frames").exists()


def test_command_writes_all_outputs(tmp_path, capsys):
    need("matplotlib", "plots")
    out = tmp_path / "out"
    assert main(["evaluate", "--agents", "identity", "colour", "--sizes", str(SIZE), "--steps", "2", "--limit-contents",
                 "2", "--limit-styles", "1", "--out", str(out), "--quiet"]) == 0  # fmt: skip
    assert "| colour (step 2) |" in capsys.readouterr().out
    for name in ("rows.csv", "agents.json", "table.md", f"plots/style_loss_{SIZE}.png", f"plots/tradeoff_{SIZE}.png",
                 f"sheets/colour_{SIZE}.png"):  # fmt: skip
        assert (out / name).is_file(), name


def test_release_rows_match_the_reference_sequence(tmp_path, reference, net):
    """The release through the env: the metrics of its clamped uint8 outputs (reference case, 2 steps)."""
    from agents.factory import make_agent

    ref = torch.load(reference / "reference_outputs.pt", weights_only=True)["square256"]
    u8 = lambda t: (t.clamp(0, 1) * 255).round().byte()  # (N, 3, H, W)
    content, style = u8(ref["content"]), u8(ref["style"])
    _, agent = make_agent(f"release:{reference}", steps=2)
    hwc = lambda t: t[0].permute(1, 2, 0).numpy()
    result = evaluate({"release": agent}, ImageSource([hwc(content)], kind="content"), ImageSource([hwc(style)], kind="style"),
                      tmp_path, Settings(sizes=(256,), steps=2, report_steps=(1, 2), progress=False), plots=False,
                      log=lambda s: None)  # fmt: skip
    outputs = u8(ref["outputs"][:2]).float() / 255
    with torch.no_grad():
        want_c = losses.paper_content_loss(net, outputs, content.float() / 255)
        want_s = losses.paper_style_loss(net, outputs, style.float() / 255)
    assert [(r["agent"], r["size"], r["step"]) for r in result.rows] == [("release", 256, 1), ("release", 256, 2)]
    for row in result.rows:
        k = row["step"] - 1
        assert row["content_loss"] == pytest.approx(float(want_c[k]), rel=1e-3)
        assert row["style_loss"] == pytest.approx(float(want_s[k]), rel=1e-3)

"""Tiled stylisation (agents/tiling.py) against the untiled networks, and the device/thread rules."""

from __future__ import annotations

import contextlib

import pytest
import torch

from agents import tiling
from agents.networks import StyleTargets
from agents.stylizer import Stylizer
from styleenv.devices import busy_cores, choose_threads, resolve_device
from styleenv_cli.main import main


@pytest.fixture(scope="module")
def shipped() -> tuple:
    """The shipped checkpoint's networks (trained: outputs span the pixel range)."""
    stylizer = Stylizer.default("cpu", tile=0)
    return stylizer.actor, stylizer.builder


def test_spans_cover_evenly() -> None:
    tiler = tiling.Tiler(tile=10)
    assert tiler.spans(25) == [(0, 8), (8, 17), (17, 25)]
    assert tiler.spans(7) == [(0, 7)]
    assert tiling.Tiler(tile=0).spans(1000) == [(0, 1000)]
    with pytest.raises(ValueError, match="tile"):
        tiling.Tiler(tile=5)


def test_tiled_networks_equal_untiled(shipped: tuple) -> None:
    actor, builder = shipped
    torch.manual_seed(0)
    moving, style = torch.rand(1, 3, 72, 100), torch.rand(1, 3, 64, 92)
    whole, tiles = tiling.Tiler(tile=0), tiling.Tiler(tile=8)  # 3 x 4 tiles of the content
    assert not tiles.fits(moving, 4) and whole.fits(moving, 4)
    with torch.inference_mode():
        code = tiling.encode_style(actor, style, whole)
        tiled_code = tiling.encode_style(actor, style, tiles)
        for name in ("x1", "x2", "x1_2", "w1", "b1", "w1_2", "b1_3"):
            torch.testing.assert_close(getattr(tiled_code, name), getattr(code, name), atol=1e-4, rtol=1e-4)
        action = tiling.act(actor, moving, code, whole)
        torch.testing.assert_close(tiling.act(actor, moving, code, tiles), action, atol=1e-4, rtol=1e-4)
        image = tiling.build(builder, action, code, whole)
        assert float(image.max() - image.min()) > 0.5  # a real picture, not a near-constant map
        torch.testing.assert_close(tiling.build(builder, action, code, tiles), image, atol=1e-4, rtol=1e-4)
        # one grid cell too little context in style mode shows: the halo is what makes tiles exact
        short = tiling.encode_style(actor, style, tiling.Tiler(tile=8, halo=3))
        assert float((short.x2 - code.x2).abs().max()) > 1e-3


def test_tiled_sequence_matches_untiled_pixels() -> None:
    torch.manual_seed(1)
    content, style = torch.rand(3, 70, 97), torch.rand(3, 52, 60)  # odd sizes: padded, several tiles
    whole = Stylizer.default("cpu", tile=0).sequence_tensor(content, style, steps=3)
    tiled = Stylizer.default("cpu", tile=8).sequence_tensor(content, style, steps=3)
    for k in (1, 2, 3):
        assert tiled[k].shape == (1, 3, 70, 97)
        assert int((tiled[k].int() - whole[k].int()).abs().max()) <= 1  # float rounding only; 2/255 allowed


def test_resolve_device_errors_in_one_line() -> None:
    with pytest.raises(ValueError, match="not a torch device"):
        resolve_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")


def test_choose_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Torch's default thread count, capped at the cores of this process's affinity less the cores
    busy elsewhere (rounded), and at least 1; an explicit count as given."""
    from styleenv import devices

    busy = {"cores": 0.0}
    monkeypatch.setattr(devices, "busy_cores", lambda: busy["cores"])
    monkeypatch.setattr(devices.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 8)
    assert choose_threads(3) == 3 and choose_threads(12) == 12  # asked for: not capped
    for cores, threads in ((0.0, 4), (1.4, 3), (1.6, 2), (3.0, 1), (64.0, 1)):
        busy["cores"] = cores
        assert choose_threads() == choose_threads(0) == threads, cores
    busy["cores"] = 0.0
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)  # torch's own default is the other cap
    assert choose_threads() == 2
    monkeypatch.setattr(devices.os, "sched_getaffinity", lambda pid: {0, 1})
    monkeypatch.setattr(torch, "get_num_threads", lambda: 8)
    busy["cores"] = 1.0  # one busy core of 2
    assert choose_threads() == 1
    with pytest.raises(ValueError, match="threads must be at least 1 .*got -1"):
        choose_threads(-1)


def test_busy_cores_is_the_busy_share_of_the_cpu_time_times_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    from styleenv import devices

    readings = iter([(100, 1000), (160, 1080)])  # 60 of 80 jiffies busy in the window
    slept = []
    monkeypatch.setattr(devices, "_cpu_jiffies", lambda: next(readings))
    monkeypatch.setattr(devices.time, "sleep", slept.append)
    monkeypatch.setattr(devices.os, "cpu_count", lambda: 8)
    monkeypatch.setattr(devices.os, "getloadavg", lambda: pytest.fail("the load average is the fallback only"))
    assert busy_cores(0.25) == pytest.approx(6.0)
    assert slept == [0.25]


@pytest.mark.parametrize("readings", [[None], [(100, 1000), None], [(100, 1000), (100, 1000)]],
                         ids=["no-proc-stat", "unreadable-after", "no-time-passed"])
def test_busy_cores_falls_back_to_the_load_average(monkeypatch: pytest.MonkeyPatch, readings: list) -> None:
    from styleenv import devices

    readings = iter(readings)
    monkeypatch.setattr(devices, "_cpu_jiffies", lambda: next(readings))
    monkeypatch.setattr(devices.time, "sleep", lambda s: None)
    monkeypatch.setattr(devices.os, "cpu_count", lambda: 8)
    monkeypatch.setattr(devices.os, "getloadavg", lambda: (2.5, 1.0, 0.5))  # the 1-minute one
    assert busy_cores() == 2.5

    def no_load_average() -> tuple:
        raise OSError("no load average here")

    readings = iter([None])
    monkeypatch.setattr(devices.os, "getloadavg", no_load_average)
    assert busy_cores() == 0.0


def test_cpu_jiffies_reads_the_first_line_of_proc_stat(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from styleenv import devices

    def fake_open(path: str) -> io.StringIO:
        assert path == "/proc/stat"
        return io.StringIO("cpu  10 20 30 400 50 6 7 8 90 100\ncpu0 1 2 3 4 5 6 7 8 9 10\n")

    monkeypatch.setattr(devices, "open", fake_open, raising=False)
    assert devices._cpu_jiffies() == (10 + 20 + 30 + 6 + 7 + 8, 531)  # idle and iowait are not busy; guest not counted

    def missing(path: str) -> io.StringIO:
        raise FileNotFoundError(path)

    monkeypatch.setattr(devices, "open", missing, raising=False)
    assert devices._cpu_jiffies() is None


@pytest.mark.parametrize("command", [
    ["demo", "--device", "cuda:7"],
    ["demo", "--threads", "-1"],
    ["stylize", "CONTENT", "STYLE", "--device", "nonsense"],
    ["evaluate", "--device", "nonsense"],
    ["train", "--config", "configs/tiny.toml", "--device", "cuda:7"],
])
def test_bad_device_or_threads_exit_2(command: list[str], tmp_path, capsys) -> None:
    from PIL import Image

    for name in ("CONTENT", "STYLE"):
        Image.new("RGB", (16, 16)).save(tmp_path / f"{name}.png")
    command = [str(tmp_path / f"{a}.png") if a in ("CONTENT", "STYLE") else a for a in command]
    target = ["--output", str(tmp_path / "out")] if command[0] == "train" else ["--out", str(tmp_path / "out")]
    assert main(command + target) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and ("device" in err or "threads" in err)
    assert not (tmp_path / "out").exists()


def test_cuda_fast_path_selected_on_cuda_only() -> None:
    cpu = Stylizer.default("cpu")
    assert cpu.graphed is None and cpu.tiler.tile == 128 and not cpu.channels_last
    with pytest.raises(ValueError, match="CUDA only"):
        Stylizer.default("cpu", cuda_graphs=True)
    with pytest.raises(ValueError, match="needs cuda_graphs"):
        Stylizer.default("cpu", cuda_graphs=False, bf16=True)
    if not torch.cuda.is_available():
        pytest.skip("no CUDA here: the graphed step's agreement with the eager one is checked on a GPU")
    torch.manual_seed(0)
    content, style = torch.rand(3, 64, 80), torch.rand(3, 64, 64)
    eager = Stylizer.default("cuda", cuda_graphs=False).sequence_tensor(content, style, steps=3)
    fast = Stylizer.default("cuda")
    assert fast.graphed is not None
    for _ in range(2):  # the second sequence replays the captured graph
        graphed = fast.sequence_tensor(content, style, steps=3)
        assert all(int((graphed[k].int() - eager[k].int()).abs().max()) <= 1 for k in (1, 2, 3))


def test_cuda_graph_is_captured_on_a_stream_of_the_inputs_device(monkeypatch: pytest.MonkeyPatch) -> None:
    """torch.cuda.graph's default capture stream is made once per process, on whichever device was
    current then: a step graph for another GPU must be captured on a stream of that GPU. The CUDA
    calls are faked; a CPU tensor stands in for an image on a second GPU."""
    from agents.cuda_step import _Graph

    class Stream:
        def __init__(self, device: torch.device | None = None) -> None:
            self.device = torch.device("cuda:0") if device is None else torch.device(device)

        def wait_stream(self, other: Stream) -> None:
            pass

    captured = {}

    @contextlib.contextmanager
    def graph(cuda_graph: object, pool: object = None, stream: Stream | None = None):
        captured["stream"] = stream
        yield

    monkeypatch.setattr(torch.cuda, "Stream", Stream)
    monkeypatch.setattr(torch.cuda, "current_stream", Stream)
    monkeypatch.setattr(torch.cuda, "stream", lambda stream: contextlib.nullcontext())
    monkeypatch.setattr(torch.cuda, "CUDAGraph", object)
    monkeypatch.setattr(torch.cuda, "graph", graph)
    moving = torch.zeros(1, 3, 8, 8)
    code = StyleTargets(*[torch.zeros(1, 4, 1, 1)] * 12)
    _Graph(lambda m, c: m + 1.0, moving, code)
    assert captured["stream"] is not None and captured["stream"].device == moving.device

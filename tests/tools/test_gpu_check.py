"""gpu-check's machinery on the CPU: the deadline, the progressive report, the exit codes, and
the real phases run small (``make gpu-check DEVICE=cpu``)."""

from __future__ import annotations

import json
import time

import pytest

from tools.gpu_check import EXIT_CUT_OFF, EXIT_FAILED, Context, Phase, PhaseFailed, Report, main, run_phases


def _ctx(tmp_path, seconds: float) -> Context:
    return Context("cpu", tmp_path, time.monotonic() + seconds, small=True)


def _ok(text: str):
    def run(ctx: Context) -> str:
        return text

    return run


def test_report_is_appended_after_every_phase(tmp_path):
    report = Report(tmp_path / "report.md")
    report.append("# header")
    seen = {}

    def second(ctx: Context) -> str:  # while phase 2 runs, phase 1's section is already on disk
        seen["text"] = (tmp_path / "report.md").read_text()
        return "two"

    code = run_phases(
        [Phase("one", "Phase one", _ok("measured: 1")), Phase("two", "Phase two", second)], _ctx(tmp_path, 30), report
    )
    assert code == 0
    assert "# header" in seen["text"] and "measured: 1" in seen["text"] and "Phase two" not in seen["text"]
    final = (tmp_path / "report.md").read_text()
    assert final.index("Phase one") < final.index("Phase two") < final.index("## Summary")


def test_deadline_cuts_a_phase_off_and_keeps_what_was_measured(tmp_path):
    report = Report(tmp_path / "report.md")

    def slow(ctx: Context) -> str:
        ctx.note("row 1: 123 images/s")
        time.sleep(30)  # interrupted by the deadline
        return "never"

    t0 = time.monotonic()
    code = run_phases(
        [
            Phase("fast", "Fast phase", _ok("fast result")),
            Phase("slow", "Slow phase", slow),
            Phase("later", "Later phase", _ok("x")),
            Phase("extra", "Optional phase", _ok("x"), optional=True),
        ],
        _ctx(tmp_path, 1.5),
        report,
    )
    assert time.monotonic() - t0 < 10
    assert code == EXIT_CUT_OFF
    text = (tmp_path / "report.md").read_text()
    assert "fast result" in text and "Fast phase" in text and "passed" in text
    assert "row 1: 123 images/s" in text and "cut off by the deadline" in text
    assert "Later phase" in text and "not run: the deadline had passed" in text
    assert "later: not run" in text and "extra: skipped" in text


def test_a_deadline_kills_a_child_process(tmp_path):
    from tools.gpu_check import _sub

    def child(ctx: Context) -> str:
        _sub(ctx, ["sleep", "30"])
        return "never"

    t0 = time.monotonic()
    assert run_phases([Phase("child", "Child", child)], _ctx(tmp_path, 1.0), Report(tmp_path / "r.md")) == EXIT_CUT_OFF
    assert time.monotonic() - t0 < 10


@pytest.mark.parametrize("error", [RuntimeError("boom"), PhaseFailed("2 of 5 tests failed")])
def test_a_failing_phase_gives_a_non_zero_exit_and_the_next_phases_still_run(tmp_path, error):
    def bad(ctx: Context) -> str:
        ctx.note("partial line")
        raise error

    report = Report(tmp_path / "report.md")
    code = run_phases(
        [Phase("bad", "Bad phase", bad), Phase("good", "Good phase", _ok("good result"))], _ctx(tmp_path, 30), report
    )
    assert code == EXIT_FAILED
    text = (tmp_path / "report.md").read_text()
    assert "FAILED" in text and str(error) in text and "good result" in text and "bad: failed" in text


def test_cpu_gpu_check_runs_real_phases_small(tmp_path, capsys):
    """Real phases on the CPU: the bench row (kept as JSON), GanStep's DDP path (gloo, world 1)
    and two GPU claims at once (no GPU here: both run unclaimed)."""
    out = tmp_path / "gc"
    phases = "bench-eager,ddp,claims,cuda-tests"
    code = main(["--device", "cpu", "--out", str(out), "--phases", phases, "--deadline", "120"])
    text = (out / "report.md").read_text()
    assert code == 0, text
    assert text.startswith("# gpu-check") and "CPU run" in text and "torch " in text
    assert "resnet-b2-bf16" in text and "DDP (gloo, world size 1)" in text
    rows = json.loads((out / "bench.json").read_text())
    assert rows[0]["images_per_s"] > 0 and list((out / "rows").glob("*.json"))
    assert "0 GPU(s) visible; the two commands got - and -, and ran at the same time." in text
    assert "bench-eager: passed · cuda-tests: passed · ddp: passed · claims: passed" in text


def test_cpu_gpu_check_fails_when_a_phase_fails(tmp_path):
    """evaluate-colorize without the first-step phase's checkpoint is a failed phase → exit 1."""
    out = tmp_path / "gc"
    assert (
        main(["--device", "cpu", "--out", str(out), "--phases", "evaluate-colorize", "--deadline", "60"]) == EXIT_FAILED
    )
    assert "evaluate-colorize: failed" in (out / "report.md").read_text()

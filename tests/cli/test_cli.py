"""The command line: `python -m colorlib <verb>` as a user meets it."""

from __future__ import annotations

import subprocess
import sys

from conftest import interruptible

from colorlib.cli import VERBS, main


def test_ctrl_c_is_one_line():
    """python -m colorlib <verb>: an interrupt prints one line and exits 130, no traceback."""
    import signal

    code = (
        "import sys, time; import colorlib.cli as c\n"
        "def slow(argv):\n    print('ready', flush=True); time.sleep(60)\n"
        "c.VERBS['train'] = (slow, '', 1); sys.exit(c.main(['train']))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=interruptible,
    )
    assert proc.stdout.readline().strip() == "ready"  # inside the verb, imports done: no race
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and err.strip() == "colorlib train: interrupted"


def test_every_verb_has_help_and_unknown_verbs_are_one_line(capsys):
    for verb in VERBS:  # in this process (a fresh interpreter per verb cost 2 s each)
        try:
            code = main([verb, "-h"])
        except SystemExit as done:
            code = done.code
        out = capsys.readouterr().out
        assert code in (0, None) and "usage: python -m colorlib " + verb in out, verb
    # and once as a user types it
    out = subprocess.run([sys.executable, "-m", "colorlib", "train", "-h"], capture_output=True, text=True)
    assert out.returncode == 0 and "usage: python -m colorlib train" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "colorlib", "colourise"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown verb 'colourise'" in bad.stderr


def _run_verb_with(body: str, *args: str, pipe_to_head: bool = False) -> subprocess.CompletedProcess:
    """`python -m colorlib train` whose main() runs ``body`` (a real dispatcher, a stand-in verb)."""
    code = (
        "import sys; import colorlib.cli as c\n"
        f"def fake(argv):\n    {body}\n"
        f"c.VERBS['train'] = (fake, '', 1); sys.exit(c.main([*{list(args)!r}, 'train']))"
    )
    cmd = [sys.executable, "-c", code]
    if not pipe_to_head:
        return subprocess.run(cmd, capture_output=True, text=True)
    verb = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    head = subprocess.Popen(["head", "-1"], stdin=verb.stdout, stdout=subprocess.PIPE, text=True)
    verb.stdout.close()  # head holds the only reader: when it exits, the pipe closes
    out, _ = head.communicate(timeout=60)
    err = verb.stderr.read()
    return subprocess.CompletedProcess(cmd, verb.wait(timeout=60), out, err)


def test_own_errors_are_one_line_others_keep_their_traceback_debug_shows_all():
    own = "from colorlib.utils.errors import ConfigError; raise ConfigError('epochs=-1: must be ≥ 0')"
    out = _run_verb_with(own)
    assert out.returncode == 1 and out.stderr.strip() == "colorlib train: epochs=-1: must be ≥ 0"
    debug = _run_verb_with(own, "--debug")
    assert debug.returncode == 1 and "Traceback" in debug.stderr and "ConfigError" in debug.stderr
    bug = _run_verb_with("raise RuntimeError('shape mismatch: a real bug')")
    assert bug.returncode == 1 and "Traceback" in bug.stderr and "shape mismatch" in bug.stderr


def test_usage_lists_every_verb_and_a_closed_pipe_is_quiet():
    out = subprocess.run([sys.executable, "-m", "colorlib", "-h"], capture_output=True, text=True)
    lines = out.stdout.splitlines()
    assert lines[0].startswith("usage: python -m colorlib")
    for verb in VERBS:
        assert sum(line.strip().startswith(verb + " ") for line in lines) == 1, verb
    piped = _run_verb_with("[print(i) for i in range(200000)]", pipe_to_head=True)
    assert piped.stdout == "0\n" and "Traceback" not in piped.stderr and "BrokenPipe" not in piped.stderr


def test_every_flag_of_every_verb_has_help_and_shows_its_default(monkeypatch):
    """Each verb's parser (captured as its main() parses) uses the shared formatter, and every
    option has help text; options with a default show it in -h."""
    import argparse

    from colorlib.cli import HelpFormatter

    class Parsed(Exception):
        pass

    def capture(self, *args, **kwargs):
        raise Parsed(self)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", capture)
    for verb, (run, _, _) in VERBS.items():
        try:
            run([])
        except Parsed as got:
            parser = got.args[0]
        assert parser.formatter_class is HelpFormatter, verb
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, f"{verb} {action.option_strings or action.dest}: no help text"
            shown = parser._get_formatter()._get_help_string(action)
            if action.option_strings and action.default not in (None, [], argparse.SUPPRESS):
                assert "default" in shown, f"{verb} {action.option_strings}: default not shown"

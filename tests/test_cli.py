"""The command line: `python -m colorlib <verb>` as a user meets it."""
from __future__ import annotations

import subprocess
import sys

from colorlib.__main__ import VERBS


def test_ctrl_c_is_one_line():
    """python -m colorlib <verb>: an interrupt prints one line and exits 130, no traceback."""
    import signal

    code = ("import sys, time; from colorlib.__main__ import main; import colorlib.bench as b\n"
            "def slow(argv):\n    print('ready', flush=True); time.sleep(60)\n"
            "b.main = slow; sys.exit(main(['bench']))")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"  # inside the verb, imports done: no race
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and err.strip() == "colorlib bench: interrupted"


def test_every_verb_has_help_and_unknown_verbs_are_one_line():
    for verb in VERBS:
        out = subprocess.run([sys.executable, "-m", "colorlib", verb, "-h"], capture_output=True, text=True)
        assert out.returncode == 0 and "usage: python -m colorlib " + verb in out.stdout, verb
    bad = subprocess.run([sys.executable, "-m", "colorlib", "colourise"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown verb 'colourise'" in bad.stderr

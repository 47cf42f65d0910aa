"""A `yiwang` command whose reader goes away (`yiwang asyncapi cases | head`) stops quietly."""
from __future__ import annotations

import signal
import subprocess
import sys


def test_a_closed_pipe_ends_the_command_without_a_traceback():
    proc = subprocess.Popen([sys.executable, "-m", "ops.cli.main", "asyncapi", "cases"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(10)  # the document starts (it is far larger than a pipe's buffer)
    proc.stdout.close()  # the reader goes away, as `head` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 128 + signal.SIGPIPE
    assert "Traceback" not in err and "BrokenPipeError" not in err, err

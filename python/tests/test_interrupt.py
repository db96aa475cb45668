"""Ctrl-C: a Python program blocked in recv() (or send() on a full pipe)
gets KeyboardInterrupt promptly, and other threads run while a call waits."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import buffered_pipe
from conftest import TIMEOUT

PROGRAM = textwrap.dedent("""
    import sys, time
    import buffered_pipe
    receiver, sender = buffered_pipe.Pipe(64)
    if sys.argv[1] == "send":
        sender.send_bytes(b"x" * 60)      # fills the ring
    print("ready", flush=True)
    started = time.monotonic()
    try:
        if sys.argv[1] == "send":
            sender.send_bytes(b"y" * 60)
        else:
            receiver.recv()
    except KeyboardInterrupt:
        print("interrupted after %.3f s" % (time.monotonic() - started), flush=True)
        sys.exit(3)
""")


@pytest.mark.parametrize("call", ["recv", "send"])
def test_ctrl_c_interrupts_a_blocked_call(call):
    child = subprocess.Popen([sys.executable, "-c", PROGRAM, call], stdout=subprocess.PIPE,
                             env=dict(os.environ), text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        time.sleep(0.5)  # let it block
        sent_at = time.monotonic()
        child.send_signal(signal.SIGINT)
        output, _ = child.communicate(timeout=TIMEOUT)
        waited = time.monotonic() - sent_at
    finally:
        child.kill()
    assert child.returncode == 3, output
    assert "interrupted" in output
    # "Promptly": one 200 ms slice, with a loaded machine's slack.
    assert waited < 10, waited


def test_other_threads_run_while_a_call_waits():
    receiver, sender = buffered_pipe.Pipe(64)
    counted = []
    stop = threading.Event()

    def count():
        while not stop.is_set():
            counted.append(1)
            time.sleep(0.001)

    thread = threading.Thread(target=count)
    thread.start()
    with pytest.raises(TimeoutError):
        receiver.recv(timeout=0.5)
    stop.set()
    thread.join()
    assert len(counted) > 10  # the GIL was free while recv waited

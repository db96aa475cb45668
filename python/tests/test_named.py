"""Named pipes between Python and C++ (tests/named_peer.cc, built by
python/CMakeLists.txt): a C++ send_bytes arrives as Python bytes, a Python
send_bytes as a C++ std::string; and between Python processes."""

import multiprocessing
import os
import subprocess

import pytest

import buffered_pipe
from conftest import TIMEOUT


def test_cpp_sender_python_receiver(named_peer, pipe_name):
    receiver, sender = buffered_pipe.create_named_pipe(pipe_name, 256)
    sender.close()  # the C++ process is the sender
    peer = subprocess.Popen([named_peer, "send", pipe_name, "100"])
    receiver.wait_for_peer(TIMEOUT)
    got = [receiver.recv_bytes(timeout=TIMEOUT) for _ in range(100)]
    assert peer.wait(TIMEOUT) == 0
    assert got == [b"cpp %d" % index for index in range(100)]
    assert all(type(message) is bytes for message in got)
    with pytest.raises(EOFError):
        receiver.recv_bytes(timeout=TIMEOUT)
    receiver.close()
    assert not os.path.exists(f"/dev/shm/{pipe_name}")


def test_python_sender_cpp_receiver(named_peer, pipe_name):
    receiver, sender = buffered_pipe.create_named_pipe(pipe_name, 256)
    receiver.close()  # the C++ process is the receiver
    peer = subprocess.Popen([named_peer, "recv", pipe_name, "100"], stdout=subprocess.PIPE, text=True)
    sender.wait_for_peer(TIMEOUT)
    for index in range(100):
        sender.send_bytes(b"py %d" % index + b"!" * index)
    output, _ = peer.communicate(timeout=TIMEOUT)
    assert peer.returncode == 0
    assert output.splitlines() == ["py %d" % index + "!" * index for index in range(100)]
    sender.close()
    assert not os.path.exists(f"/dev/shm/{pipe_name}")


def _open_and_send(name):
    with buffered_pipe.open_named_pipe(name, buffered_pipe.SENDING) as sender:
        for index in range(50):
            sender.send({"index": index})


def test_python_processes_meet_by_name(pipe_name):
    receiver, sender = buffered_pipe.create_named_pipe(pipe_name, 64)
    sender.close()
    child = multiprocessing.get_context("spawn").Process(target=_open_and_send, args=(pipe_name,))
    child.start()
    receiver.wait_for_peer(TIMEOUT)
    assert [receiver.recv(timeout=TIMEOUT)["index"] for _ in range(50)] == list(range(50))
    child.join(TIMEOUT)
    assert child.exitcode == 0
    receiver.close()


def test_named_static_pipe(pipe_name):
    receiver, sender = buffered_pipe.create_named_static_pipe(pipe_name, 8, 1)
    other = buffered_pipe.open_named_static_pipe(pipe_name, "receiving")
    sender.send(b"12345678")
    assert other.recv(timeout=TIMEOUT) == b"12345678"
    for end in (receiver, sender, other):
        end.close()
    assert not os.path.exists(f"/dev/shm/{pipe_name}")


def test_named_errors(pipe_name):
    with pytest.raises(FileNotFoundError):
        buffered_pipe.open_named_pipe(pipe_name, buffered_pipe.RECEIVING)
    ends = buffered_pipe.create_named_pipe(pipe_name, 64)
    with pytest.raises(FileExistsError):
        buffered_pipe.create_named_pipe(pipe_name, 64)
    with pytest.raises(ValueError):
        buffered_pipe.open_named_static_pipe(pipe_name, 0)  # a generic pipe
    with pytest.raises(ValueError):
        buffered_pipe.open_named_pipe("bad/name", 0)
    with pytest.raises(ValueError):
        buffered_pipe.open_named_pipe(pipe_name, 2)
    for end in ends:
        end.close()

"""Ends are picklable by multiprocessing (as a Connection is): through a
Queue to a running process, at start to spawn/forkserver children, named
ends by name; plain pickle refuses them."""

import multiprocessing
import os
import pickle
from multiprocessing.reduction import ForkingPickler

import pytest

import buffered_pipe
from conftest import START_METHODS, TIMEOUT


def test_plain_pickle_refuses_an_end():
    receiver, sender = buffered_pipe.Pipe(64)
    with pytest.raises(TypeError):
        pickle.dumps(sender)


@pytest.mark.parametrize("make", [lambda: buffered_pipe.Pipe(64), lambda: buffered_pipe.Static_Pipe(4, 2)])
def test_round_trip_in_one_process(make):
    receiver, sender = make()
    copy = ForkingPickler.loads(ForkingPickler.dumps(sender))
    assert type(copy) is type(sender) and copy is not sender
    copy.send_bytes(b"abcd")
    assert receiver.recv_bytes(timeout=TIMEOUT) == b"abcd"
    copy.close()
    sender.send_bytes(b"efgh")  # the original is still open
    assert receiver.recv_bytes(timeout=TIMEOUT) == b"efgh"


def test_closed_end_cannot_be_pickled():
    receiver, sender = buffered_pipe.Pipe(64)
    sender.close()
    with pytest.raises(ValueError):
        ForkingPickler.dumps(sender)


def _serve(requests):
    # Gets an end through a Queue after it started, and sends on it.
    sender = requests.get(timeout=TIMEOUT)
    sender.send(("from", os.getpid()))


@pytest.mark.parametrize("how", START_METHODS)
def test_end_through_a_queue_to_a_running_child(how):
    context = multiprocessing.get_context(how)
    requests = context.Queue()
    child = context.Process(target=_serve, args=(requests,))
    child.start()
    receiver, sender = buffered_pipe.Pipe(256)
    requests.put(sender)
    assert receiver.recv(timeout=TIMEOUT) == ("from", child.pid)
    child.join(TIMEOUT)
    assert child.exitcode == 0


def _named_child(sender):
    assert sender._name
    sender.send_bytes(b"named")


@pytest.mark.parametrize("how", ["spawn", "forkserver"])
def test_named_end_pickles_by_name(how, pipe_name):
    receiver, sender = buffered_pipe.create_named_pipe(pipe_name, 1024)
    child = multiprocessing.get_context(how).Process(target=_named_child, args=(sender,))
    child.start()
    assert receiver.recv_bytes(timeout=TIMEOUT) == b"named"
    child.join(TIMEOUT)
    assert child.exitcode == 0
    receiver.close()
    sender.close()
    assert not os.path.exists(f"/dev/shm/{pipe_name}")


def _count_descriptors():
    return len(os.listdir("/proc/self/fd"))


def test_unpickling_does_not_leak_descriptors():
    receiver, sender = buffered_pipe.Pipe(64)
    before = _count_descriptors()
    for _ in range(20):
        copy = ForkingPickler.loads(ForkingPickler.dumps(sender))
        copy.close()
        del copy
    assert _count_descriptors() <= before + 1


def test_a_descriptor_is_validated_as_untrusted_input(tmp_path):
    # Not a pipe: too small, then the right size but garbage.
    garbage = tmp_path / "garbage"
    for content in (b"", b"\xff" * 65536):
        garbage.write_bytes(content)
        descriptor = os.open(garbage, os.O_RDWR)
        try:
            with pytest.raises((ValueError, buffered_pipe.DataLossError)):
                buffered_pipe.GenericEnd._open_descriptor(descriptor, 0)
        finally:
            os.close(descriptor)  # the caller's: the end opened a duplicate
    # A static pipe's descriptor is not a generic pipe's.
    receiver, sender = buffered_pipe.Static_Pipe(8, 2)
    with pytest.raises(ValueError, match="static"):
        buffered_pipe.GenericEnd._open_descriptor(sender._descriptor(), 1)
    with pytest.raises(ValueError):
        buffered_pipe.StaticEnd._open_descriptor(sender._descriptor(), 2)

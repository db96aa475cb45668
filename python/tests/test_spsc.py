"""One sender, one receiver, across threads and child processes of every start
method: every message arrives intact and in order, also through buffers
smaller than the messages (the original's matrix, reduced)."""

import pytest

import buffered_pipe
from conftest import START_METHODS, TIMEOUT
from helpers import Worker

# (buffer_size, message length, count): buffers of 2..20 bytes with 4-byte
# messages (rounded up to 64), messages as long as the buffer, messages 4
# times the buffer (streamed).
CASES = [(2, 4, 300), (3, 4, 300), (5, 4, 300), (16, 4, 300), (20, 4, 300),
         (1024, 1024, 200), (2**12, 2**14, 50), (2**18, 2**16, 30)]


def message(index, length):
    return (index.to_bytes(4, "little") * (length // 4 + 1))[:length]


def send_all(sender, length, count):
    for index in range(count):
        sender.send_bytes(message(index, length))


def receive_all(receiver, length, count):
    for index in range(count):
        assert receiver.recv_bytes(timeout=TIMEOUT) == message(index, length)


@pytest.mark.parametrize("how", ["thread"] + START_METHODS)
@pytest.mark.parametrize("buffer_size,length,count", CASES)
def test_child_sends_parent_receives(how, buffer_size, length, count):
    if how in ("spawn", "forkserver") and buffer_size not in (2, 2**18):
        pytest.skip("spawn and forkserver: the smallest and largest buffer only (start-up time)")
    receiver, sender = buffered_pipe.Generic_Pipe(buffer_size)
    worker = Worker(how, send_all, (sender, length, count))
    receive_all(receiver, length, count)
    worker.join()


@pytest.mark.parametrize("how", ["thread"] + START_METHODS)
def test_child_receives_parent_sends(how):
    receiver, sender = buffered_pipe.Generic_Pipe(16)
    worker = Worker(how, receive_all, (receiver, 100, 200))
    send_all(sender, 100, 200)
    worker.join()


@pytest.mark.parametrize("how", ["thread"] + START_METHODS)
def test_pickled_objects_in_order(how):
    receiver, sender = buffered_pipe.Pipe(buffer_size=64)
    worker = Worker(how, _send_objects, (sender,))
    for index in range(200):
        assert receiver.recv(timeout=TIMEOUT) == {"index": index, "text": "x" * index}
    worker.join()


def _send_objects(sender):
    for index in range(200):
        sender.send({"index": index, "text": "x" * index})


@pytest.mark.parametrize("how", ["thread"] + START_METHODS)
@pytest.mark.parametrize("object_size", [4, 1024])
def test_static_pipe_object_count_one(how, object_size):
    receiver, sender = buffered_pipe.Static_Pipe(object_size, 1)
    worker = Worker(how, send_all, (sender, object_size, 200))
    receive_all(receiver, object_size, 200)
    worker.join()

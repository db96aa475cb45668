"""Errors as Python exceptions: timeouts, end of stream, broken pipe, closed
ends, bad sizes, the original's argument checks; and the Connection
conventions (poll, recv_bytes_into, maxlength, context manager)."""

import multiprocessing
import threading
import time

import pytest

import buffered_pipe
from conftest import TIMEOUT


def test_original_sizes_are_rounded_up():
    for size in (2, 3, 5, 16, 20):
        receiver, sender = buffered_pipe.Generic_Pipe(size)
        assert receiver.buffer_size == sender.buffer_size == 64
    assert buffered_pipe.Generic_Pipe(65)[0].buffer_size == 128


@pytest.mark.parametrize("arguments", [
    dict(buffer_size=1), dict(buffer_size=0), dict(buffer_size=64, minimum_write=0),
    dict(buffer_size=64, SMT_recv=-1), dict(buffer_size=64, SMT_send=-1),
    dict(buffer_size=64, polling=1.0),
])
def test_generic_arguments_the_original_rejects(arguments):
    with pytest.raises(ValueError):
        buffered_pipe.Generic_Pipe(**arguments)


@pytest.mark.parametrize("arguments", [
    dict(object_size=0, object_count=1), dict(object_size=4, object_count=0),
    dict(object_size=4, object_count=1, polling=2),
])
def test_static_arguments_the_original_rejects(arguments):
    with pytest.raises(ValueError):
        buffered_pipe.Static_Pipe(**arguments)


def test_too_large_is_value_error():
    with pytest.raises(ValueError, match="2\\^36"):
        buffered_pipe.Generic_Pipe(2**40)


def test_ignored_arguments_are_accepted():
    receiver, sender = buffered_pipe.Generic_Pipe(128, minimum_write=1, SMT_recv=0, SMT_send=3, polling=0.5)
    sender.send(1)
    assert receiver.recv() == 1


def test_static_send_needs_exactly_object_size():
    receiver, sender = buffered_pipe.Static_Pipe(8, 2)
    with pytest.raises(ValueError):
        sender.send(b"short")
    sender.send(b"12345678")
    assert receiver.recv() == b"12345678"


def test_timeout():
    receiver, sender = buffered_pipe.Pipe(64)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        receiver.recv(timeout=0.3)
    assert time.monotonic() - started >= 0.3
    with pytest.raises(TimeoutError):
        receiver.recv_bytes(timeout=0)


def test_end_of_stream_after_the_rest():
    receiver, sender = buffered_pipe.Pipe(64)
    sender.send("last")
    sender.close()
    assert receiver.recv(timeout=TIMEOUT) == "last"
    with pytest.raises(EOFError):
        receiver.recv(timeout=TIMEOUT)


def test_end_of_stream_when_a_forked_sender_exits():
    receiver, sender = buffered_pipe.Pipe(64)
    child = multiprocessing.get_context("fork").Process(target=sender.send, args=("hi",))
    child.start()
    sender.close()
    assert receiver.recv(timeout=TIMEOUT) == "hi"
    child.join(TIMEOUT)
    with pytest.raises(EOFError):
        receiver.recv(timeout=TIMEOUT)


def test_broken_pipe():
    receiver, sender = buffered_pipe.Pipe(64)
    receiver.close()
    with pytest.raises(BrokenPipeError):
        sender.send_bytes(b"x")


def test_closed_end_is_os_error_and_wakes_a_blocked_call():
    receiver, sender = buffered_pipe.Pipe(64)
    errors = []

    def blocked():
        try:
            receiver.recv(timeout=TIMEOUT)
        except OSError as error:
            errors.append(error)

    thread = threading.Thread(target=blocked)
    thread.start()
    time.sleep(0.2)
    receiver.close()
    thread.join(TIMEOUT)
    assert not thread.is_alive()
    assert errors and "closed" in str(errors[0])
    assert receiver.closed
    with pytest.raises(OSError):
        receiver.recv_bytes()


def test_wrong_direction_is_value_error():
    receiver, sender = buffered_pipe.Pipe(64)
    assert receiver.readable and not receiver.writable
    with pytest.raises(ValueError):
        receiver.send(1)
    with pytest.raises(ValueError):
        sender.recv()


def test_context_manager_closes():
    receiver, sender = buffered_pipe.Pipe(64)
    with sender as same:
        assert same is sender
        sender.send(1)
    assert sender.closed
    assert receiver.recv() == 1
    with pytest.raises(EOFError):
        receiver.recv(timeout=TIMEOUT)


def test_poll_keeps_the_message():
    receiver, sender = buffered_pipe.Pipe(1024)
    assert receiver.poll() is False
    assert receiver.poll(0.1) is False
    sender.send("a")
    sender.send("b")
    assert receiver.poll(TIMEOUT) is True
    assert receiver.poll() is True
    assert receiver.recv() == "a"
    assert receiver.recv() == "b"
    sender.close()
    assert receiver.poll(TIMEOUT) is True  # end of stream
    with pytest.raises(EOFError):
        receiver.recv()


def test_recv_bytes_into_and_maxlength():
    receiver, sender = buffered_pipe.Pipe(1024)
    sender.send_bytes(b"hello world", 6)
    buffer = bytearray(10)
    assert receiver.recv_bytes_into(buffer, 2) == 5
    assert buffer[2:7] == b"world"
    sender.send_bytes(b"0123456789AB")
    with pytest.raises(multiprocessing.BufferTooShort) as raised:
        receiver.recv_bytes_into(bytearray(4))
    assert raised.value.args[0] == b"0123456789AB"
    sender.send_bytes(memoryview(b"abcdef"), 1, 3)
    assert receiver.recv_bytes() == b"bcd"
    sender.send_bytes(b"x" * 100)
    with pytest.raises(OSError):
        receiver.recv_bytes(10)


def test_register_is_harmless():
    receiver, sender = buffered_pipe.Pipe(64)
    receiver.register()
    sender.register()
    sender.register()
    sender.send(None)
    assert receiver.recv() is None


def test_empty_message():
    receiver, sender = buffered_pipe.Pipe(64)
    sender.send_bytes(b"")
    assert receiver.recv_bytes() == b""


def test_threads_polling_one_end_lose_nothing():
    receiver, sender = buffered_pipe.Pipe(1 << 16)
    for index in range(400):
        sender.send(index)
    stop = threading.Event()

    def poll_repeatedly():
        while not stop.is_set():
            receiver.poll(0.01)

    pollers = [threading.Thread(target=poll_repeatedly) for _ in range(3)]
    for thread in pollers:
        thread.start()
    got = [receiver.recv(timeout=TIMEOUT) for _ in range(400)]
    stop.set()
    for thread in pollers:
        thread.join()
    assert sorted(got) == list(range(400))

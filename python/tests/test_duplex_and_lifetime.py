"""Duplex pairs used by two processes at once, and lifetimes: the creator
dropping its ends before or after the children use theirs."""

import multiprocessing

import pytest

import buffered_pipe
from conftest import START_METHODS, TIMEOUT
from helpers import Worker


def echo_side(end, count, first):
    """Sends `count` numbered objects while receiving the other side's. Each
    fits the ring whole: two sides that both stream a message longer than
    the ring to each other wait for each other, as with any pipe."""
    for index in range(count):
        end.send((first, index, b"x" * (index % 100)))
        other, got, payload = end.recv(timeout=TIMEOUT)
        assert (other, got, payload) == (not first, index, b"x" * (index % 100))


@pytest.mark.parametrize("how", ["thread"] + START_METHODS)
@pytest.mark.parametrize("make", ["generic", "static"])
def test_duplex_both_ways_at_once(how, make):
    if make == "generic":
        left, right = buffered_pipe.Generic_Pipe(1024, duplex=True)
        worker = Worker(how, echo_side, (right, 300, False))
        echo_side(left, 300, True)
    else:
        left, right = buffered_pipe.Static_Pipe(16, 1, duplex=True)
        worker = Worker(how, _static_echo, (right, 300))
        for index in range(300):
            left.send(index.to_bytes(16, "little"))
            assert left.recv(timeout=TIMEOUT) == (index + 1).to_bytes(16, "little")
    worker.join()
    assert left.readable and left.writable


def _static_echo(end, count):
    for _ in range(count):
        value = int.from_bytes(end.recv(timeout=TIMEOUT), "little")
        end.send((value + 1).to_bytes(16, "little"))


def send_numbers(sender, count):
    for index in range(count):
        sender.send(index)


def receive_numbers(receiver, count, results):
    results.put([receiver.recv(timeout=TIMEOUT) for _ in range(count)])


def test_fork_creator_drops_its_ends_before_the_children_use_theirs():
    # fork registers the children before fork() returns: the creator may
    # close at once.
    receiver, sender = buffered_pipe.Pipe(64)
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    workers = [Worker("fork", receive_numbers, (receiver, 100, results)),
               Worker("fork", send_numbers, (sender, 100))]
    receiver.close()
    sender.close()
    assert results.get(timeout=TIMEOUT) == list(range(100))
    for worker in workers:
        worker.join()


@pytest.mark.parametrize("how", ["spawn", "forkserver"])
def test_pickled_children_after_the_creator_drops_its_ends(how):
    # A pickled end counts once the child has opened it: the creator that
    # waits for that may then close its own ends.
    receiver, sender = buffered_pipe.Pipe(64)
    context = multiprocessing.get_context(how)
    results, ready = context.Queue(), context.Barrier(3)
    workers = [Worker(how, _after_barrier, (ready, receive_numbers, receiver, 100, results)),
               Worker(how, _after_barrier, (ready, send_numbers, sender, 100))]
    ready.wait(TIMEOUT)
    receiver.close()
    sender.close()
    assert results.get(timeout=TIMEOUT) == list(range(100))
    for worker in workers:
        worker.join()


def _after_barrier(barrier, task, *args):
    barrier.wait(TIMEOUT)
    task(*args)


def _racing_sender(sender, outcome):
    try:
        send_numbers(sender, 20)
        outcome.put("sent")
    except BrokenPipeError:
        outcome.put("broken pipe")


def _racing_receiver(receiver, outcome):
    try:
        outcome.put(("received", [receiver.recv(timeout=TIMEOUT) for _ in range(20)]))
    except EOFError:
        outcome.put(("end of stream", None))


def test_spawn_creator_closing_at_once_works_or_fails_cleanly():
    # The creator closes both ends right after starting the children, before
    # they have opened theirs: the sender may find no receiver yet, or the
    # receiver no sender; either is a clean exception, never a hang or a crash.
    receiver, sender = buffered_pipe.Pipe(64)
    context = multiprocessing.get_context("spawn")
    outcome = context.Queue()
    workers = [Worker("spawn", _racing_receiver, (receiver, outcome)),
               Worker("spawn", _racing_sender, (sender, outcome))]
    receiver.close()
    sender.close()
    results = [outcome.get(timeout=TIMEOUT) for _ in range(2)]
    for worker in workers:
        worker.join()
    for result in results:
        assert result in ("sent", "broken pipe") or result[0] in ("received", "end of stream")
        if isinstance(result, tuple) and result[0] == "received":
            assert result[1] == list(range(20))


def test_ends_are_independent_objects_in_threads():
    receiver, sender = buffered_pipe.Pipe(64)
    worker = Worker("thread", send_numbers, (sender, 50))
    assert [receiver.recv(timeout=TIMEOUT) for _ in range(50)] == list(range(50))
    worker.join()
    del sender  # the last reference closes the end
    with pytest.raises(EOFError):
        receiver.recv(timeout=TIMEOUT)

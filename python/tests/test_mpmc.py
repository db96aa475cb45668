"""Many senders, many receivers (random splits of up to 8 and 8 over threads
and processes): every message is received exactly once, intact, and every receiver takes each sender's messages in the order they
were sent. Receivers stop on a sentinel, as the original's tests do."""

import multiprocessing
import random
import threading

import pytest

import buffered_pipe
from conftest import TIMEOUT
from helpers import Worker

SENTINEL = b""


def sender_task(sender, sender_id, count, length):
    for sequence in range(count):
        head = sender_id.to_bytes(2, "little") + sequence.to_bytes(4, "little")
        sender.send_bytes(head + bytes([sequence % 251]) * (length - len(head)))


def receiver_task(receiver, results, length):
    """Receives until the sentinel; puts the (sender, sequence, taken-at) list."""
    taken = []
    while True:
        data = receiver.recv_bytes(timeout=TIMEOUT)
        if data == SENTINEL:
            break
        sender_id = int.from_bytes(data[:2], "little")
        sequence = int.from_bytes(data[2:6], "little")
        assert len(data) == length
        assert data[6:] == bytes([sequence % 251]) * (length - 6)
        taken.append((sender_id, sequence))
    results.put(taken)


def run(seed, buffer_size, length, count, start_method):
    rng = random.Random(seed)
    senders = rng.randint(1, 8)
    receivers = rng.randint(1, 8)
    how = lambda: rng.choice(["thread", start_method])  # noqa: E731
    receiver, sender = buffered_pipe.Generic_Pipe(buffer_size)
    # multiprocessing.Queue serves threads and processes alike.
    results = multiprocessing.get_context(start_method).Queue()
    receiving = [Worker(how(), receiver_task, (receiver, results, length)) for _ in range(receivers)]
    sending = [Worker(how(), sender_task, (sender, index, count, length)) for index in range(senders)]
    for worker in sending:
        worker.join()
    for _ in range(receivers):
        sender.send_bytes(SENTINEL)
    taken = [results.get(timeout=TIMEOUT) for _ in range(receivers)]
    for worker in receiving:
        worker.join()
    everything = [item for part in taken for item in part]
    assert sorted(everything) == [(s, q) for s in range(senders) for q in range(count)], "not exactly once"
    # Per-sender order: each receiver takes a sender's messages in increasing
    # order (a receiver's view is its own sequence of takes).
    for part in taken:
        for sender_id in range(senders):
            mine = [q for s, q in part if s == sender_id]
            assert mine == sorted(mine), "a sender's messages out of order"


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("buffer_size,length", [(2, 8), (1024, 100), (2**16, 2**15)])
def test_mpmc_fork(seed, buffer_size, length):
    run(seed, buffer_size, length, 100, "fork")


@pytest.mark.parametrize("seed", range(2))
def test_mpmc_spawn(seed):
    run(100 + seed, 256, 64, 100, "spawn")

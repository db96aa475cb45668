"""buffered_pipe beside multiprocessing.Pipe / Queue / SimpleQueue, in one run.

    bash python/build.sh
    PYTHONPATH=python/build/package /usr/bin/python3 benchmarks/python/compare.py [--quick]

Cases (as the C++ comparison draws them: every transport in each
repetition, ratios taken inside a repetition, median over repetitions):
- bytes 1->1: 128-byte send_bytes/recv_bytes (Queue/SimpleQueue: put/get of
  a 128-byte bytes object, which they pickle), one sender process, the
  receiver in the parent;
- objects 1->1: send/recv (put/get) of a small tuple (pickled by all);
- bytes 4->4 and objects 4->4: four sender processes, four receiver
  processes sharing one pipe or queue (multiprocessing.Pipe is not safe
  with several readers or writers on one end: not run);
- binding overhead: one thread sends and receives 128-byte messages on one
  buffered_pipe (no peer, no waiting), per message minus the same loop in
  C++ (benchmarks/python/binding_baseline.cc, built by python/build.sh).
Processes are forked; buffered_pipe gets 1 MiB of ring.
"""

import argparse
import multiprocessing
import os
import platform
import statistics
import subprocess
import sys
import time

import buffered_pipe

PAYLOAD = b"x" * 128
OBJECT = (12345, "order", 1.5, None)


class Transport:
    """make() -> (receiving side, sending side) with send(x)/recv() of one kind."""

    def __init__(self, name, make, send, recv, many_to_many=True):
        self.name, self.make, self.send, self.recv, self.many_to_many = name, make, send, recv, many_to_many


def transports(kind):
    context = multiprocessing.get_context("fork")
    if kind == "bytes":
        bp = Transport("buffered_pipe", lambda: buffered_pipe.Pipe(1 << 20),
                       lambda end, x: end.send_bytes(x), lambda end: end.recv_bytes())
        pipe = Transport("mp.Pipe", lambda: context.Pipe(duplex=False),
                         lambda end, x: end.send_bytes(x), lambda end: end.recv_bytes(), many_to_many=False)
    else:
        bp = Transport("buffered_pipe", lambda: buffered_pipe.Pipe(1 << 20),
                       lambda end, x: end.send(x), lambda end: end.recv())
        pipe = Transport("mp.Pipe", lambda: context.Pipe(duplex=False),
                         lambda end, x: end.send(x), lambda end: end.recv(), many_to_many=False)

    def queue(factory):
        def make():
            q = factory()
            return q, q
        return make

    return [
        bp,
        pipe,
        Transport("mp.Queue", queue(context.Queue), lambda q, x: q.put(x), lambda q: q.get()),
        Transport("mp.SimpleQueue", queue(context.SimpleQueue), lambda q, x: q.put(x), lambda q: q.get()),
    ]


def _sender(transport, end, item, count, start):
    start.wait()
    send = transport.send
    for _ in range(count):
        send(end, item)


def run_once(transport, kind, senders, receivers, count):
    """Messages per second from the start signal to the last message taken."""
    context = multiprocessing.get_context("fork")
    item = PAYLOAD if kind == "bytes" else OBJECT
    stop = b"" if kind == "bytes" else None
    receive_end, send_end = transport.make()
    start = context.Event()
    done = context.Queue()
    per_sender = count // senders
    sender_processes = [context.Process(target=_sender, args=(transport, send_end, item, per_sender, start))
                        for _ in range(senders)]
    for process in sender_processes:
        process.start()
    if receivers == 1:
        start.set()
        began = time.perf_counter()
        recv = transport.recv
        for _ in range(per_sender * senders):
            recv(receive_end)
        elapsed = time.perf_counter() - began
    else:
        receiver_processes = [context.Process(target=_count_receiver,
                                              args=(transport, receive_end, stop, done))
                              for _ in range(receivers)]
        for process in receiver_processes:
            process.start()
        time.sleep(0.05)
        began = time.perf_counter()
        start.set()
        for process in sender_processes:
            process.join()
        for _ in range(receivers):  # one sentinel per receiver, after every message
            transport.send(send_end, stop)
        total = sum(done.get() for _ in range(receivers))
        elapsed = time.perf_counter() - began
        for process in receiver_processes:
            process.join()
        assert total == per_sender * senders, (transport.name, total)
    for process in sender_processes:
        process.join()
    for end in {id(receive_end): receive_end, id(send_end): send_end}.values():
        close = getattr(end, "close", None)
        if close:
            close()
    return per_sender * senders / elapsed


def _count_receiver(transport, end, stop, done):
    recv = transport.recv
    received = 0
    while recv(end) != stop:
        received += 1
    done.put(received)


def binding_overhead(count):
    receiver, sender = buffered_pipe.Pipe(1 << 20)
    send, recv = sender.send_bytes, receiver.recv_bytes
    best = float("inf")
    for _ in range(5):
        began = time.perf_counter()
        for _ in range(count):
            send(PAYLOAD)
            recv()
        best = min(best, (time.perf_counter() - began) / count)
    return best


def cpp_baseline(count):
    baseline = os.path.join(os.path.dirname(buffered_pipe.__file__), "..", "..", "bin", "binding_baseline")
    if not os.path.exists(baseline):
        return None
    output = subprocess.run([baseline, str(count)], check=True, capture_output=True, text=True).stdout
    return float(output.split()[0]) * 1e-9


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer messages and repetitions")
    parser.add_argument("--repetitions", type=int, default=None)
    arguments = parser.parse_args()
    repetitions = arguments.repetitions or (2 if arguments.quick else 5)
    count = 20_000 if arguments.quick else 100_000

    print(f"python {platform.python_version()}, buffered_pipe {buffered_pipe.__version__}, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}, {repetitions} repetitions, "
          f"{count} messages per run")
    cases = [("bytes", 1, 1), ("objects", 1, 1), ("bytes", 4, 4), ("objects", 4, 4)]
    for kind, senders, receivers in cases:
        rates = {}
        for _ in range(repetitions):
            for transport in transports(kind):
                if (senders > 1 or receivers > 1) and not transport.many_to_many:
                    continue
                rates.setdefault(transport.name, []).append(
                    run_once(transport, kind, senders, receivers, count))
        label = f"{'128 B bytes' if kind == 'bytes' else 'small objects'} {senders}->{receivers}"
        print(f"\n{label}: messages/s (median of {repetitions}); buffered_pipe / other, median (min-max) of per-repetition ratios")
        ours = rates["buffered_pipe"]
        for name, values in rates.items():
            ratios = [a / b for a, b in zip(ours, values)]
            print(f"  {name:16s} {statistics.median(values):12,.0f}   "
                  + ("" if name == "buffered_pipe" else
                     f"x{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"))
        if kind == "bytes" and senders == 1 and "mp.Pipe" in rates:
            ratio = statistics.median([a / b for a, b in zip(ours, rates["mp.Pipe"])])
            print(f"  target >= 5x mp.Pipe: {'MET' if ratio >= 5 else 'MISSED'} ({ratio:.2f}x)")

    per_message = binding_overhead(count)
    baseline = cpp_baseline(count)
    print(f"\nbinding: send_bytes+recv_bytes of 128 B on one thread: {per_message * 1e9:.0f} ns per message")
    if baseline is not None:
        overhead = per_message - baseline
        print(f"  the same loop in C++: {baseline * 1e9:.0f} ns; binding overhead {overhead * 1e9:.0f} ns "
              f"(target <= 1000 ns: {'MET' if overhead <= 1e-6 else 'MISSED'})")
    else:
        print("  (binding_baseline not built: no C++ comparison)")


if __name__ == "__main__":
    sys.exit(main())

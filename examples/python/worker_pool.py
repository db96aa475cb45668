"""A Python worker pool fed by a C++ producer over a named pipe.

    python3 examples/python/worker_pool.py [PATH_TO_cpp_producer]

The Python side creates the named pipe "worker_pool_example" (tasks) and an
anonymous one (results); four worker processes share the receiving end of
the tasks pipe (each task goes to exactly one of them) and stop at end of
stream, when the C++ producer (examples/python/cpp_producer.cc, built by
python/build.sh into <build>/bin) has sent everything and exited and the
creator has closed its own sending end.

The workers are started with "spawn": they get only the ends they are
given (pickled: the named end by name, the anonymous one by descriptor). A
forked worker would also inherit the creator's sending end of the tasks
pipe, and end of stream would never come while it runs.
"""

import multiprocessing
import os
import subprocess
import sys

import buffered_pipe

TASKS = 1000
WORKERS = 4


def worker(tasks, results):
    done = 0
    total = 0
    while True:
        try:
            task = tasks.recv_bytes()  # bytes, as the C++ producer sent them
        except EOFError:
            break
        _, index, number = task.split()
        total += int(number) * int(number)
        done += 1
    results.send((os.getpid(), done, total))


def main():
    producer = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(buffered_pipe.__file__), "..", "..", "bin", "cpp_producer")
    tasks, task_sender = buffered_pipe.create_named_pipe("worker_pool_example", buffer_size=4096)
    results, result_sender = buffered_pipe.Pipe(buffer_size=4096)
    context = multiprocessing.get_context("spawn")
    pool = [context.Process(target=worker, args=(tasks, result_sender)) for _ in range(WORKERS)]
    for process in pool:
        process.start()
    subprocess.run([producer, "worker_pool_example", str(TASKS)], check=True)
    task_sender.close()  # the producer has exited: no sender is left, end of stream
    reports = [results.recv() for _ in range(WORKERS)]
    for process in pool:
        process.join()
    # Kept open until here: a worker opens the name when it starts, so the
    # name must outlive the slowest start (the last process to close removes it).
    tasks.close()
    done = sum(report[1] for report in reports)
    total = sum(report[2] for report in reports)
    expected = sum((i * 7 + 3) ** 2 for i in range(TASKS))
    print(f"{WORKERS} workers did {done} tasks; per worker: {[report[1] for report in reports]}")
    print("sum of squares", total, "correct" if (done, total) == (TASKS, expected) else "WRONG")
    return 0 if (done, total) == (TASKS, expected) else 1


if __name__ == "__main__":
    sys.exit(main())

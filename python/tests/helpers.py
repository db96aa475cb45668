"""Process and thread helpers for the tests: start a target in a thread or in
a child of a given multiprocessing start method, and join it with a bound."""

import multiprocessing
import threading

from conftest import TIMEOUT


class Worker:
    """A thread or a process running target(*args); join() checks it ended well."""

    def __init__(self, how, target, args):
        self.how = how
        if how == "thread":
            self.error = []

            def run():
                try:
                    target(*args)
                except BaseException as error:  # reported by join()
                    self.error.append(error)

            self.runner = threading.Thread(target=run, daemon=True)
        else:
            context = multiprocessing.get_context(how)
            self.runner = context.Process(target=target, args=args, daemon=True)
        self.runner.start()

    def join(self, timeout=TIMEOUT):
        self.runner.join(timeout)
        if self.runner.is_alive():
            if self.how != "thread":
                self.runner.kill()
            raise AssertionError(f"{self.how} worker did not finish in {timeout} s")
        if self.how == "thread":
            if self.error:
                raise self.error[0]
        else:
            assert self.runner.exitcode == 0, f"{self.how} worker exit code {self.runner.exitcode}"

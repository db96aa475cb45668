"""Shared fixtures of the buffered_pipe Python tests.

Run by bazel/test_python.sh (which builds the module first):

    PYTHONPATH=python/build/package /usr/bin/python3 -m pytest python/tests

The C++ peer of the named-pipe tests is found through BUFFERED_PIPE_NAMED_PEER,
else next to the package (<build>/bin/named_peer).
"""

import os
import pathlib

import pytest

import buffered_pipe

# Generous bounds: the tests run on a loaded 2-core machine. Nothing asserts
# a duration except "returns before this".
TIMEOUT = 60.0

START_METHODS = ["fork", "spawn", "forkserver"]


def _shm_names():
    try:
        return set(os.listdir("/dev/shm"))
    except FileNotFoundError:
        return set()


@pytest.fixture(scope="session", autouse=True)
def no_leftovers_in_dev_shm():
    """No test may leave a name in /dev/shm."""
    before = _shm_names()
    yield
    left = sorted(name for name in _shm_names() - before if name.startswith("bp_pytest"))
    assert not left, f"left in /dev/shm: {left}"


@pytest.fixture
def named_peer():
    path = os.environ.get("BUFFERED_PIPE_NAMED_PEER")
    if not path:
        package = pathlib.Path(buffered_pipe.__file__).resolve().parent.parent
        path = str(package.parent / "bin" / "named_peer")
    if not os.path.exists(path):
        pytest.skip(f"C++ peer not built: {path}")
    return path


@pytest.fixture
def pipe_name(request):
    """A fresh name under bp_pytest_ (checked by no_leftovers_in_dev_shm)."""
    name = f"bp_pytest_{os.getpid()}_{request.node.name}"
    name = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)[:200]
    yield name
    if os.path.exists(f"/dev/shm/{name}"):
        buffered_pipe.remove_named_pipe(name)

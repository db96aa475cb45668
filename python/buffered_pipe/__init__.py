"""buffered_pipe: fast pipes between Python threads and processes over shared memory.

The API of the original ``buffered_pipe`` package (``Generic_Pipe``,
``Static_Pipe``, ``Pipe``), on the C++ core of this repository, plus the
conventions of ``multiprocessing.Connection`` (``recv(timeout=)``,
``poll``, ``close``, context manager, ``recv_bytes_into``) and named pipes
that C++ processes open too.

    from buffered_pipe import Pipe
    receiver, sender = Pipe(buffer_size=2048)
    sender.send({"any": "picklable object"})
    print(receiver.recv())

Ends work in threads and in child processes of every multiprocessing start
method: inherited by ``fork``, pickled for ``spawn`` and ``forkserver`` (the
pipe's memory descriptor travels as multiprocessing passes a Connection's).
Many senders and many receivers may share a pipe: every message is received
exactly once, and one sender's messages in the order it sent them.
"""

from multiprocessing import reduction as _reduction

from . import _core
from ._core import DataLossError, GenericEnd, StaticEnd

__all__ = [
    "Pipe",
    "Generic_Pipe",
    "Static_Pipe",
    "create_named_pipe",
    "open_named_pipe",
    "create_named_static_pipe",
    "open_named_static_pipe",
    "remove_named_pipe",
    "GenericEnd",
    "StaticEnd",
    "DataLossError",
    "RECEIVING",
    "SENDING",
]

__version__ = _core.__version__

#: Side of a one-way named pipe to open: its receiving end, or its sending end.
RECEIVING = 0
SENDING = 1


def _check_ignored(SMT_recv, SMT_send, polling):
    # The original's tuning arguments mean nothing here (no sender/receiver
    # thread counts, no polling: blocked calls sleep on a futex); they are
    # validated as the original validates them, then ignored.
    if not SMT_recv >= 0:
        raise ValueError(f"SMT_recv must be >= 0, not {SMT_recv!r}")
    if not SMT_send >= 0:
        raise ValueError(f"SMT_send must be >= 0, not {SMT_send!r}")
    if not polling < 1:
        raise ValueError(f"polling must be < 1, not {polling!r}")


def Generic_Pipe(
    buffer_size,
    minimum_write=64,
    SMT_recv=16,
    SMT_send=16,
    polling=0.1,
    duplex=False,
):
    """A pipe for messages of any length: ``(receiving end, sending end)``.

    ``buffer_size`` is the ring's size in bytes, rounded up to a power of two
    of at least 64 bytes (so the original's 2, 3, 5, 16 or 20 all become 64;
    the end's ``buffer_size`` attribute tells the result), at most 2**36. A
    message larger than half the buffer is streamed through it in pieces, so
    any length fits any buffer. ``duplex=True`` gives two ends that both send
    and receive, like ``multiprocessing.Pipe(duplex=True)``, each direction
    with its own ring.

    ``minimum_write``, ``SMT_recv``, ``SMT_send`` and ``polling`` are accepted
    for compatibility and ignored; values the original rejects
    (``minimum_write <= 0``, ``buffer_size <= 1``, negative ``SMT_*``,
    ``polling >= 1``) raise ValueError.
    """
    if not minimum_write > 0:
        raise ValueError(f"minimum_write must be > 0, not {minimum_write!r}")
    if not buffer_size > 1:
        raise ValueError(f"buffer_size must be > 1, not {buffer_size!r}")
    _check_ignored(SMT_recv, SMT_send, polling)
    return _core.generic_pipe(int(buffer_size), bool(duplex))


Pipe = Generic_Pipe


def Static_Pipe(
    object_size,
    object_count,
    SMT_recv=16,
    SMT_send=16,
    polling=0.1,
    duplex=False,
):
    """A pipe for records of exactly ``object_size`` bytes: ``(receiving end, sending end)``.

    At most ``object_count`` records are in the pipe at once (1 or more).
    ``send``/``recv`` move bytes, exactly ``object_size`` of them (another
    length is ValueError), as in the original; they are ``send_bytes`` and
    ``recv_bytes``. ``duplex`` as for ``Generic_Pipe``. ``SMT_recv``,
    ``SMT_send`` and ``polling`` are validated as the original does and ignored.
    """
    if not object_size > 0:
        raise ValueError(f"object_size must be > 0, not {object_size!r}")
    if not object_count > 0:
        raise ValueError(f"object_count must be > 0, not {object_count!r}")
    _check_ignored(SMT_recv, SMT_send, polling)
    return _core.static_pipe(int(object_size), int(object_count), bool(duplex))


def _side_index(side):
    if side in (0, "receiving", "recv"):
        return 0
    if side in (1, "sending", "send"):
        return 1
    raise ValueError(f"side is RECEIVING (0) or SENDING (1), not {side!r}")


def create_named_pipe(name, buffer_size=65536, duplex=False, mode=0o600, remove_when_unused=True):
    """Creates the named pipe ``/dev/shm/<name>``: ``(receiving end, sending end)``.

    Other processes, Python or C++ (``buffered_pipe::OpenNamedPipe``), open
    its sides by name; bytes sent by either arrive as they were sent (a C++
    ``send_bytes`` as Python ``bytes``). Created exclusively
    (FileExistsError) with permission ``mode``; unless
    ``remove_when_unused`` is false, the last process to close its ends
    removes the name. ``buffer_size`` as for ``Generic_Pipe``.
    """
    return _core.create_named_pipe(name, int(buffer_size), bool(duplex), mode, bool(remove_when_unused))


def open_named_pipe(name, side):
    """Opens one side of a named pipe: ``RECEIVING`` (0) or ``SENDING`` (1)
    (for a duplex pipe: the first or second end). FileNotFoundError if there is
    no such pipe. Use ``end.wait_for_peer(timeout)`` when the other side may not
    be open yet (end of stream means "no sender is open now")."""
    return _core.open_named_pipe(name, _side_index(side))


def create_named_static_pipe(
    name, object_size, object_count, duplex=False, mode=0o600, remove_when_unused=True
):
    """As ``create_named_pipe``, for a ``Static_Pipe`` of ``object_size``-byte records."""
    return _core.create_named_static_pipe(
        name, int(object_size), int(object_count), bool(duplex), mode, bool(remove_when_unused)
    )


def open_named_static_pipe(name, side):
    """As ``open_named_pipe``, for a named static pipe."""
    return _core.open_named_static_pipe(name, _side_index(side))


def remove_named_pipe(name):
    """Removes a pipe's name (processes that have it open keep using it)."""
    _core.remove_named_pipe(name)


# --- Pickling ends for spawn / forkserver children ------------------------------
# As multiprocessing pickles a Connection: an anonymous pipe's end carries
# its shared memory's descriptor (reduction.DupFd), and the child opens the
# same side from it; a named pipe's end is opened again by name. Only
# multiprocessing's pickler knows how (plain pickle.dumps refuses an end).

_OPENERS = {GenericEnd: open_named_pipe, StaticEnd: open_named_static_pipe}


def _rebuild_end(kind, duplicated, side):
    from multiprocessing import resource_sharer

    descriptor = duplicated.detach()
    try:
        return kind._open_descriptor(descriptor, side)
    finally:
        # A descriptor fetched from the resource sharer is ours; one inherited
        # at spawn is shared by every end of that pipe in this process.
        if isinstance(duplicated, resource_sharer.DupFd):
            import os

            os.close(descriptor)


def _rebuild_named_end(kind, name, side):
    return _OPENERS[kind](name, side)


def _reduce_end(end):
    if end.closed:
        raise ValueError("cannot pickle a closed end")
    if end._name:
        return _rebuild_named_end, (type(end), end._name, end._side)
    return _rebuild_end, (type(end), _reduction.DupFd(end._descriptor()), end._side)


for _kind in (GenericEnd, StaticEnd):
    _reduction.register(_kind, _reduce_end)
del _kind

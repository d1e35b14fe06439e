"""Batch workers die with their driver, and the driver stops its workers when it is stopped.

A pool worker is busy in a model or a store transaction for seconds at a time; left alone it
would outlive a driver killed with SIGKILL (finishing, and writing, its chunk) and hold the
database for minutes. Two guards in each worker: on Linux the kernel sends it SIGKILL the moment
its parent dies (prctl PR_SET_PDEATHSIG), and everywhere a watchdog thread exits it once its
parent process id changes (re-parented to init or a sub-reaper). A worker killed mid-chunk loses
nothing: each chunk is one store transaction, rolled back, and redone by a rerun.

In the driver, SIGTERM and SIGHUP (whose default action would end it without a word to its
workers) become `SystemExit(128 + signal)` for the length of the pool, so the pool is torn down
(`stop_pool`) on the way out; Ctrl-C arrives as KeyboardInterrupt and is torn down the same way,
while the workers ignore SIGINT (the terminal sends it to the whole process group).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from types import FrameType

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
WATCH_SECONDS = 0.5  # how often the watchdog looks at the parent pid: orphans live at most this long
ORPHANED = 70  # a worker's exit status when it left because its driver had gone
STOP_GRACE_SECONDS = 5.0  # SIGTERM, then this long before SIGKILL, when the pool is stopped
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def bind_to_parent(parent: int) -> None:
    """In a worker process: exit as soon as the process `parent` is gone; ignore SIGINT."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        _death_signal(signal.SIGKILL)
    if os.getppid() != parent:  # died before the death signal was armed
        os._exit(ORPHANED)
    threading.Thread(target=_watch, args=(parent,), name="propscope-lifeline", daemon=True).start()


def _death_signal(sig: signal.Signals) -> None:
    """Ask Linux to send `sig` to this process when its parent dies (best effort)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except (OSError, AttributeError):  # no libc prctl (musl oddities): the watchdog still works
        pass


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(WATCH_SECONDS)
    os._exit(ORPHANED)  # not sys.exit: the main thread may be deep in a model call


@contextmanager
def signals_stop_driver() -> Iterator[None]:
    """Within: SIGTERM/SIGHUP raise SystemExit in the main thread instead of ending the process
    on the spot. Handlers an application installed itself are left alone (as off the main
    thread, where Python allows none)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    mine = [sig for sig, handler in previous.items() if handler == signal.SIG_DFL]
    for sig in mine:
        signal.signal(sig, _raise_exit)
    try:
        yield
    finally:
        for sig in mine:
            signal.signal(sig, previous[sig])


def _raise_exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def stop_pool(pool: ProcessPoolExecutor) -> None:
    """Terminate every worker of `pool` now (SIGTERM, then SIGKILL after a grace period)."""
    processes = list((pool._processes or {}).values())  # no public API lists a pool's processes
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join()

"""Why the kiosk signatures are checked in a process apart, not on a thread.

Checks the same P-256 signatures three ways and prints the wall time of each:
alone on the main thread; on a second thread while the main thread is idle;
on a second thread while the main thread runs pure Python (as the gevent
event loop does during a burst of ballots). ``cryptography`` releases the GIL
inside OpenSSL, but the checking thread must take it back after every
signature, and a busy thread hands it over only every switch interval
(``sys.getswitchinterval()``, 5 ms): so each check waits for the loop.

    .venv/bin/python -m bench.gil_convoy --checks 3000
"""

from __future__ import annotations

import sys
import threading
import time

import click

from crypto import KioskKey


def _check_all(checks: list[tuple[object, bytes, bytes]]) -> float:
    started = time.perf_counter()
    for key, signature, data in checks:
        assert key.verify(signature, data)  # type: ignore[attr-defined]
    return time.perf_counter() - started


def _on_thread(checks: list[tuple[object, bytes, bytes]], busy: str) -> float:
    """Check on a second thread while the main thread is ``idle``, or busy with Python
    that calls into C now and then (``calls``) or with bytecode alone (``bytecode``)."""
    took: list[float] = []
    worker = threading.Thread(target=lambda: took.append(_check_all(checks)))
    worker.start()
    n = 0
    if busy == "calls":
        while not took:
            n += sum(range(200))
    elif busy == "bytecode":
        while not took:
            n += 1
    worker.join()
    return took[0]


@click.command()
@click.option("--checks", default=3000, show_default=True, type=click.IntRange(1))
def main(checks: int) -> None:
    key = KioskKey.generate()
    data = [f"ballot {i}".encode() for i in range(checks)]
    work = [(key.public, key.sign(d), d) for d in data]
    click.echo(f"{checks:,} P-256 checks, Python {sys.version.split()[0]}, "
               f"switch interval {sys.getswitchinterval() * 1000:g} ms")  # fmt: skip
    click.echo(f"  main thread alone:             {_check_all(work):7.2f} s")
    click.echo(f"  second thread, main idle:      {_on_thread(work, 'idle'):7.2f} s")
    click.echo(f"  second thread, main busy (C):  {_on_thread(work, 'calls'):7.2f} s")
    click.echo(f"  second thread, main bytecode:  {_on_thread(work, 'bytecode'):7.2f} s")


if __name__ == "__main__":
    main()

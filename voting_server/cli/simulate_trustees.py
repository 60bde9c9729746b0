"""The scrutineers' devices of ``voting-server simulate --secret --trustees N`` and of
``bench/run.py --trustees N``: N Python trustee clients (kiosk_client/trustee.py), each
logged in with its own scrutineer account, run the sitting's key ceremony once the
presidium starts it (threshold k: the default majority), then decrypt each trustee-mode
vote as it closes, as scrutineers' pages left open in the hall would
(docs/trustee-votes.md).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import click

from kiosk_client.trustee import TrusteeClient, TrusteeError, staff_session

MAX_TRUSTEES = 9  # audit/trustee_ceremony.py's MAX_TRUSTEES: a designation of 1..9
CEREMONY_DEADLINE_S = 120.0
DECRYPT_POLL_S = 0.1  # each trustee looks for closed votes this often


@dataclass
class Trustees:
    """The trustee clients and what their ceremonies made, per sitting."""

    clients: list[TrusteeClient]
    keys: dict[int, dict[str, Any]] = field(default_factory=dict)  # sitting → trustee_key data

    def summary(self) -> dict[str, Any]:
        """For the report: n, k and each sitting's joint key (public values only)."""
        any_key = next(iter(self.keys.values()), {})
        return {
            "n": len(self.clients),
            "k": any_key.get("k"),
            "joint_keys": {str(s): key["joint_key"] for s, key in self.keys.items()},
        }

    def close(self) -> None:
        for client in self.clients:
            client.close()


def key_ceremonies(
    base: str,
    presidium: tuple[str, str],
    logins: list[tuple[str, str]],
    sittings: list[int],
    progress: Callable[[str], None],
    deadline_s: float = CEREMONY_DEADLINE_S,
) -> Trustees:
    """Each trustee logs in; for each sitting the presidium starts a ceremony and the
    trustees run it to the joint key, in parallel. ClickException naming the sitting
    and the trustee when a ceremony fails or the trustees disagree on the key."""
    try:
        trustees = Trustees([TrusteeClient(base, user, password) for user, password in logins])
        chair = staff_session(base, *presidium)
    except TrusteeError as exc:
        raise click.ClickException(f"trustees: {exc}") from None
    with ThreadPoolExecutor(len(logins)) as pool:
        for sitting in sittings:
            running = [pool.submit(c.run_ceremony, sitting, deadline_s) for c in trustees.clients]
            answer = chair.post(f"{base}/api/trustees/sittings/{sitting}/start", json={"k": None},
                                timeout=30)  # fmt: skip
            if answer.status_code != 200:
                raise click.ClickException(
                    f"sitting {sitting}: the presidium could not start the key ceremony: "
                    f"HTTP {answer.status_code} {answer.text[:300]}"
                )
            keys = []
            for client, job in zip(trustees.clients, running, strict=True):
                try:
                    keys.append(job.result(timeout=deadline_s + 30))
                except TrusteeError as exc:
                    raise click.ClickException(
                        f"sitting {sitting}, {client.username}: {exc}"
                    ) from None
            if any(key != keys[0] for key in keys):
                raise click.ClickException(
                    f"sitting {sitting}: the trustees end with different keys"
                )
            trustees.keys[sitting] = keys[0]
            progress(f"sitting {sitting}: joint key {keys[0]['joint_key'][:16]}… of "
                     f"{keys[0]['n']} trustees, any {keys[0]['k']} decrypt")  # fmt: skip
    chair.close()
    return trustees


@contextmanager
def decrypting(trustees: Trustees, sittings: list[int]) -> Iterator[list[BaseException]]:
    """Every trustee decrypts the sittings' trustee-mode votes as they close, in its own
    thread, until the block ends. Yields the list of errors the threads met (checked,
    and raised as a ClickException, when the block ends)."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def run(client: TrusteeClient, sitting: int) -> None:
        try:
            client.serve(sitting, stop, DECRYPT_POLL_S)
        except BaseException as exc:  # reported when the block ends, with the trustee
            errors.append(RuntimeError(f"{client.username}, sitting {sitting}: {exc}"))

    threads = [
        threading.Thread(target=run, args=(client, sitting), daemon=True)
        for client in trustees.clients
        for sitting in sittings
    ]
    for thread in threads:
        thread.start()
    try:
        yield errors
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    if errors:
        raise click.ClickException(f"a trustee failed: {errors[0]}")


def contents(report: dict[str, Any]) -> dict[int, str]:
    """vote id → the verifier's ``content`` ("proven", "server-trusted") from
    ``voting-audit verify --json``'s report (its ``votes``: a list of objects with
    ``vote`` and ``content``, or an object keyed by vote id)."""
    votes = report.get("votes") or []
    items = votes.items() if isinstance(votes, dict) else ((v.get("vote"), v) for v in votes)
    out: dict[int, str] = {}
    for vote, value in items:
        content = value.get("content") if isinstance(value, dict) else value
        if vote is not None and isinstance(content, str):
            out[int(vote)] = content
    return out

"""The hall's devices for tests/test_secrecy_trustees.py, in a process of their own: the
deputies' tablets (the Python kiosk client) and the scrutineers' devices (the Python
trustee client). Kept out of the server's process so that a dump of the server's
memory holds what the server has — not the tablets' choices, nor the trustees' shares.

It reads one JSON command per line on stdin and answers one JSON line on stdout:

- ``{"do": "start", "url", "password", "trustees": [username…], "deputies": [{"seat",
  "device", "key_pem", "pin"}…]}``: the tablets connect; the trustees log in and wait
  for the sitting's key ceremony (``"sitting"``) in threads;
- ``{"do": "sign_in", "seats": […]}``; ``{"do": "ceremony"}``: the trustees' joint key;
- ``{"do": "decrypt"}``: the trustees decrypt every vote of the sitting that closes;
- ``{"do": "vote", "vote", "kind", "options": […], "seats": […], "subject"?, "seed"}``:
  each seat chooses (a distinct set of candidates in a random order, or a motion word)
  and casts; the answer says only how many receipts came back, secret;
- ``{"do": "report"}``: everything the test needs afterwards — each seat's choices, what
  each tablet signed and kept, the trustees' secrets — then every device closes.

The choices leave this process only with ``report``, after the test's last memory dump.
"""

from __future__ import annotations

import json
import random
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from cryptography.hazmat.primitives.serialization import load_pem_private_key

from crypto import KioskKey
from kiosk_client.client import KioskClient
from kiosk_client.trustee import TrusteeClient

WAIT = 60.0  # under the whole suite's load a trustee or a tablet can be slow to answer


class Devices:
    def __init__(self, command: dict[str, Any]) -> None:
        self.pool = ThreadPoolExecutor(max_workers=16)
        self.tablets: dict[int, KioskClient] = {}
        self.sent: list[tuple[int, dict[str, Any]]] = []  # (seat, payload) as signed
        self.choices: dict[int, dict[int, Any]] = {}  # vote → seat → choice
        for d in command["deputies"]:
            key = KioskKey(load_pem_private_key(d["key_pem"].encode(), None))  # type: ignore[arg-type]
            client = KioskClient(command["url"], key, d["device"])
            record = client.outbox.add

            def add(payload: dict[str, Any], at: float, seat: int = d["seat"], record=record):
                self.sent.append((seat, payload))
                return record(payload, at)

            client.outbox.add = add  # type: ignore[method-assign]
            self.tablets[d["seat"]] = client
        self.pins = {d["seat"]: d["pin"] for d in command["deputies"]}
        list(self.pool.map(lambda c: c.connect(WAIT), self.tablets.values()))
        self.trustees = [TrusteeClient(command["url"], u, command["password"], poll_s=0.05)
                         for u in command["trustees"]]  # fmt: skip
        self.sitting = int(command["sitting"])
        self.keys: list[Future[dict[str, Any]]] = [
            self.pool.submit(t.run_ceremony, self.sitting, 120.0) for t in self.trustees
        ]
        self.stop = threading.Event()
        self.serving: list[Future[None]] = []

    def sign_in(self, seats: list[int]) -> dict[str, Any]:
        for seat in seats:
            answer = self.tablets[seat].sign_in(self.pins[seat], timeout=WAIT)
            assert answer["signed_in"], answer
        return {"ok": True}

    def ceremony(self) -> dict[str, Any]:
        keys = [k.result(timeout=150) for k in self.keys]
        assert all(k == keys[0] for k in keys)
        return {"ok": True, "key": keys[0]}

    def decrypt(self) -> dict[str, Any]:
        self.serving = [
            threading.Thread(target=t.serve, args=(self.sitting, self.stop, 0.05), daemon=True)
            for t in self.trustees
        ]  # type: ignore[misc]
        for thread in self.serving:
            thread.start()  # type: ignore[attr-defined]
        return {"ok": True}

    def vote(self, command: dict[str, Any]) -> dict[str, Any]:
        rng = random.Random(command["seed"])
        vote, seats, options = command["vote"], command["seats"], command["options"]
        chosen: dict[int, Any] = {}
        if command["kind"] == "selection":
            seen: set[frozenset[str]] = set()
            for seat in seats:
                while True:
                    ballot = rng.sample(options, rng.randint(3, command["seats_to_fill"] - 1))
                    if frozenset(ballot) not in seen and ballot != sorted(ballot):
                        break
                seen.add(frozenset(ballot))
                chosen[seat] = ballot
        else:  # a motion: yes / no / abstain / unmarked
            words = [{command["subject"]: w} for w in ("yes", "no", "abstain")] + [{}]
            chosen = {seat: rng.choice(words) for seat in seats}
        self.choices[vote] = chosen

        def cast(seat: int) -> dict[str, Any]:
            try:
                return self.tablets[seat].vote(vote, chosen[seat])
            except Exception as exc:
                raise RuntimeError(f"vote {vote}, seat {seat}, {chosen[seat]!r}: {exc}") from exc

        receipts = list(self.pool.map(cast, seats))
        return {"ok": True, "receipts": len(receipts),
                "secret": all(r["secret"] is True for r in receipts)}  # fmt: skip

    def report(self) -> dict[str, Any]:
        self.stop.set()
        for thread in self.serving:
            thread.join(30)  # type: ignore[attr-defined]
        secrets = {}
        for t in self.trustees:
            (seat,) = t.seats.values()
            assert seat.secret_share is not None
            secrets[seat.index] = {
                "share": seat.secret_share.hex(),
                "polynomial": [c.hex() for c in seat.polynomial.coefficients],
            }
        kept = [p.payload for c in self.tablets.values() for p in c.outbox.unacknowledged()]
        out = {
            "ok": True,
            "choices": {
                str(v): {str(s): c for s, c in by.items()} for v, by in self.choices.items()
            },
            "sent": self.sent,
            "kept": kept,
            "trustees": secrets,
        }
        list(self.pool.map(lambda c: c.close(), self.tablets.values()))
        for t in self.trustees:
            t.close()
        return out


def main() -> None:
    devices: Devices | None = None
    for line in sys.stdin:
        command = json.loads(line)
        try:
            if command["do"] == "start":
                devices = Devices(command)
                answer: dict[str, Any] = {"ok": True}
            else:
                assert devices is not None, "start first"
                if command["do"] == "sign_in":
                    answer = devices.sign_in(command["seats"])
                elif command["do"] == "vote":
                    answer = devices.vote(command)
                else:
                    answer = getattr(devices, command["do"])()
        except Exception as exc:  # the test shows it
            answer = {"ok": False, "error": f"{exc.__class__.__name__}: {exc}"}
        print(json.dumps(answer), flush=True)
        if command["do"] == "report":
            break


if __name__ == "__main__":
    main()

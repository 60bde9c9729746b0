"""The server's ballot path alone, in process: CPU per ballot of ``Voting.cast_batch``.

No sockets, no gunicorn: what one batch of the group commit costs (validation,
the batch's queries, two P-256 verifications and one Ed25519 signature per
ballot, the inserts, the commit). Measured in CPU seconds of this process
(``time.process_time``), so that other work on the machine matters less than
for the end-to-end figures of ``make bench``. docs/performance.md quotes it.

    .venv/bin/python -m bench.ballot_path --members 3000 --batch 500
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

from crypto import KioskKey, ServerKey
from crypto.statements import ballot_signatures
from rules.kinds import kind_of
from voting_server.db import make_engine, make_session_factory, upgrade
from voting_server.demo import load_demo
from voting_server.models import AttendanceMethod, Vote
from voting_server.services import attendance, devices
from voting_server.services.audit_log import AuditLog
from voting_server.services.transactions import write_transaction
from voting_server.services.voter import Voter
from voting_server.services.voting import BallotRequest, Voting


def prepare(url: str, members: int, key_dir: Path, secret: bool) -> tuple[Any, ...]:
    upgrade(url)
    sessions = make_session_factory(make_engine(url))
    log = AuditLog(ServerKey.generate())
    keys: dict[int, KioskKey] = {}
    clients: dict[int, Voter] = {}  # seat → the kiosk the socket shell authenticated
    with write_transaction(sessions) as s:
        body = load_demo(s, members=members)
        sitting = body.sittings[0]
        # the demo's motion vote
        vote = next(v for i in sitting.agenda_items for v in i.votes if v.kind == "motion")
        vote.secret = secret
        for seat in range(1, members + 1):
            keys[seat] = KioskKey.generate()
            code = devices.issue_enrollment_code(s, body.id, seat, None)
            device = devices.enroll_device(s, log, code, keys[seat].public.spki_b64)
            clients[seat] = Voter(seat=seat, device=device.id, body=body.id)
            member = attendance.member_at_seat(s, body.id, seat)
            assert member is not None
            # as at the tablet with the PIN: only such a tablet's ballots count
            attendance.sign_in(s, log, sitting, member, AttendanceMethod.KIOSK_PIN,
                               device=device.id)  # fmt: skip
        vote_id = vote.id
    voting = Voting(key_dir)
    with write_transaction(sessions) as s:
        voting.open_vote(s, log, vote_id, 1, None)
    with sessions() as s:
        vote = s.get(Vote, vote_id)
        assert vote is not None
        subjects = [str(i) for i, _ in vote.options()]
    return sessions, log, voting, keys, clients, vote_id, subjects


def postgres_cpu_s() -> float:
    """CPU seconds (user + system) of every PostgreSQL process on this machine so far: the
    database's own share of a batch (its backend, the WAL writer), apart from this process's."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # gone meanwhile
        if text[text.find("(") + 1 : text.rfind(")")] == "postgres":
            fields = text[text.rfind(")") + 2 :].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def signed_request(key: KioskKey, client: Voter, vote_id: int, ballot: Any) -> BallotRequest:
    nonce = secrets.token_urlsafe(16)
    signature, participation = ballot_signatures(key, vote_id, client.seat, nonce, ballot)
    return BallotRequest(client, vote_id, nonce, ballot, signature, participation)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--secret", action="store_true")
    parser.add_argument(
        "--prechecked", action="store_true",
        help="check the signatures first, as the server does when each ballot arrives "
        "(Voting.precheck, here inline and untimed): cast_batch's own cost",
    )  # fmt: skip
    parser.add_argument(
        "--recount", action="store_true",
        help="after each batch, recount who pressed from the database as the scale-out "
        "stack does before a 已按 broadcast (Voting.refresh_presses), timed apart",
    )  # fmt: skip
    parser.add_argument("--database-url", default=None, help="an EMPTY database (default SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        sessions, log, voting, keys, clients, vote_id, subjects = prepare(
            url, args.members, Path(tmp) / "keys", args.secret
        )
        marks = list(kind_of("motion").marks)  # the demo's motion: 赞成, 反对, 弃权
        requests = [
            signed_request(keys[seat], clients[seat], vote_id,
                           {s: marks[(seat + i) % 3] for i, s in enumerate(subjects)})
            for seat in range(1, args.members + 1)
        ]  # fmt: skip
        if args.prechecked:
            requests = [voting.precheck(r, keys[r.voter.seat or 0].public.spki_b64)
                        for r in requests]  # fmt: skip
        cpu, wall, refused = time.process_time(), time.perf_counter(), 0
        database_cpu = postgres_cpu_s()
        recount = recount_wall = 0.0
        for start in range(0, len(requests), args.batch):
            with write_transaction(sessions) as s:
                outcomes = voting.cast_batch(s, log, requests[start : start + args.batch])
            refused += sum(1 for o in outcomes if isinstance(o, Exception))
            if args.recount:
                with sessions() as s:
                    started, started_wall = time.process_time(), time.perf_counter()
                    voting.refresh_presses(s, voting.open[vote_id])
                    recount += time.process_time() - started
                    recount_wall += time.perf_counter() - started_wall
        database_cpu = postgres_cpu_s() - database_cpu
        # the batches' own figures: the recounts are reported apart
        cpu = time.process_time() - cpu - recount
        wall = time.perf_counter() - wall - recount_wall
    n = len(requests)
    print(json.dumps({
        "ballots": n, "refused": refused, "batch": args.batch, "secret": args.secret,
        "prechecked": args.prechecked,
        "db": url.split(":", 1)[0], "cpu_us_per_ballot": round(cpu / n * 1e6, 1),
        "wall_us_per_ballot": round(wall / n * 1e6, 1), "ballots_per_cpu_s": round(n / cpu),
        **({"postgres_cpu_us_per_ballot": round(database_cpu / n * 1e6, 1)}
           if url.startswith("postgresql") else {}),
        **({"recounts": -(-n // args.batch), "recount_cpu_ms": round(recount * 1e3)}
           if args.recount else {}),
    }))  # fmt: skip


if __name__ == "__main__":
    main()

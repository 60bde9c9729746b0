"""Trustees played in Python (crypto.trustees.ceremony) for key-ceremony tests: each
``Player`` holds its polynomial, as a scrutineer's browser would, and answers the
server's state (services.trustee_ceremony.state_for) with the next step's payload."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crypto.trustees import ceremony as dkg
from crypto.trustees.group import ONE, Element, Scalar
from kiosk_client.trustee import opened_shares, share_verdicts


@dataclass
class Player:
    index: int
    k: int
    base: bytes  # H_C
    polynomial: dkg.Polynomial = field(init=False)
    cheat_for: int | None = None  # a recipient this trustee sends a wrong share to
    received: dict[int, Scalar] = field(default_factory=dict)  # sender → P_sender(index)

    def __post_init__(self) -> None:
        self.polynomial = dkg.Polynomial.random(self.k)

    @staticmethod
    def for_state(state: dict[str, Any], index: int | None = None) -> Player:
        return Player(index or state["you"], state["k"], bytes.fromhex(state["base_hash"]))

    def commitments(self) -> dict[str, Any]:
        return {
            "commitments": [c.to_json() for c in dkg.commit(self.base, self.index, self.polynomial)]
        }

    def shares(self, state: dict[str, Any]) -> dict[str, Any]:
        shares = []
        for ell in range(1, state["n"] + 1):
            if ell == self.index:
                continue
            key = Element.from_hex(state["commitments"][str(ell)][0]["commitment"])
            value = self.polynomial.evaluate(ell)
            if ell == self.cheat_for:
                value = value + ONE
            enc = dkg.encrypt_share(self.base, self.index, ell, key, value)
            shares.append({"recipient": ell, **enc.to_json()})
        return {"shares": shares}

    def opened(self, state: dict[str, Any]) -> dict[int, Scalar]:
        """The shares addressed to this trustee, decrypted: sender → P_sender(index)."""
        return opened_shares(self.base, self.index, self.polynomial, state)

    def verdicts(self, state: dict[str, Any]) -> dict[str, Any]:
        """Feldman on every share received: verified, or a complaint revealing the share."""
        return share_verdicts(self.index, self.opened(state), state)


def ceremonies(hall: Any, presidium: Any, trustees: list[Any], sitting: int) -> dict[str, Any]:
    """Through the service (tests/support/service_hall.py's ``hall``): a ceremony that
    fails on a complaint, then one that makes the key — every ``trustee_*`` entry type.
    ``trustees``: the sitting's designated scrutineers (StaffUser), in account order.
    Returns the second ceremony's final state."""
    from voting_server.services import trustee_ceremony as service

    state: dict[str, Any] = {}
    for cheat in (True, False):
        with hall.tx() as s:
            row = service.start_ceremony(s, hall.log, sitting, s.merge(presidium), None)
            ceremony_id = row.ceremony_id
            state = service.ceremony_state(s, ceremony_id, s.merge(trustees[0]))
        players = {i: Player.for_state(state, i) for i in range(1, state["n"] + 1)}
        if cheat:
            players[1].cheat_for = 2
        for step in ("commitments", "shares", "verdicts"):
            for i, player in players.items():
                with hall.tx() as s:
                    user = s.merge(trustees[i - 1])
                    now = service.ceremony_state(s, ceremony_id, user)
                    if now["phase"] == "failed":
                        break
                    payload = (
                        player.commitments()
                        if step == "commitments"
                        else getattr(player, step)(now)
                    )
                    if step == "verdicts":
                        player.received = player.opened(now)
                    state = service.post_step(s, hall.log, ceremony_id, step, user, payload)
    # each trustee's secret share s_i, as its browser keeps it: for decrypting test votes
    state["secret_shares"] = {
        i: dkg.secret_share([*p.received.values(), p.polynomial.evaluate(i)])
        for i, p in players.items()
    }
    return state

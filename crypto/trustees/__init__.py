"""Trustee-mode secret votes: the cryptography (issue 20), pure functions over values.

docs/trustee-crypto.md is the normative byte-level spec; this package implements it on
ristretto255 through libsodium (pysodium) and AES-256-GCM through pyca ``cryptography``.
``tests/vectors/trustees.json`` holds the vectors that the JavaScript twin
(``kiosk_client/static/js/trustees/``) must reproduce.

Modules and their main calls (every error is a ``TrusteeCryptoError(ValueError)`` whose
``field`` names what mismatched; every random value may be passed in, else the OS CSPRNG):

- ``group``: ``Scalar`` (``random``, ``from_int``, ``from_hex(text, field)``, ``+ - * -x``,
  ``inverse``), ``Element`` (``from_hex(text, field)`` refusing the identity and
  non-canonical encodings, ``A * B``, ``A / B``, ``A ** s``), ``G`` the base point,
  ``base(s)`` = g^s, ``ORDER`` = ℓ.
- ``hashing``: ``H(key, *parts) -> bytes``, ``Hq(key, *parts) -> Scalar``; parts are
  ``Separator``, int, str, Element, Scalar or a 32-byte hash.
- ``ceremony``: ``ceremony_hash(ceremony_id, n, k)``; ``Polynomial.random(k)``,
  ``.evaluate(x)``; ``commit(h_c, i, poly, nonces=None) -> [CoefficientCommitment]``,
  ``verify_commitments(h_c, i, k, commitments)``; ``encrypt_share(h_c, i, ell, K_ell,
  share, xi=None) -> EncryptedShare``, ``decrypt_share(h_c, i, ell, a_ell0, enc)``,
  ``verify_share(i, ell, share, commitments)`` (Feldman); ``joint_key([K_i0])``,
  ``public_share(ell, [[K_ij]])``, ``secret_share([P_i(ell)])``.
- ``ballot``: ``Layout`` (``from_json``/``to_json``/``manifest``: contests, options and
  limits — each vote kind makes its own, ``Kind.encrypted_layout``);
  ``vote_hash(h_c, vote_id, layout, K)``; ``encrypt_ballot(h_v, K, layout, member_id,
  nonce, marks, nonces=None) -> dict``; ``verify_ballot(h_v, K, layout, member_id,
  nonce, data) -> EncryptedBallot``; ``aggregate(layout, ballots) -> Aggregates``,
  ``aggregates_to_json``/``aggregates_from_json``.
- ``decryption``: ``partial_decrypt(h_v, i, s_i, agg, u=None)``,
  ``partial_decrypt_all(h_v, i, s_i, aggregates)``, ``verify_partial(h_v, i, K_hat_i,
  agg, pd)``, ``partials_to_json``/``partials_from_json``; ``lagrange(i, seats)``,
  ``combine({i: M_i}, k)``, ``LogTable``/``discrete_log``; ``decrypt_counts(h_v, layout,
  aggregates, public_shares, partials, k, K, bound) -> {contest: {option: count}}``.
"""

from crypto.trustees.group import ORDER, Element, G, Scalar, TrusteeCryptoError, base

__all__ = ["ORDER", "Element", "G", "Scalar", "TrusteeCryptoError", "base"]

/*
 * trustees/group.mjs — ristretto255 and its scalars, as docs/trustee-crypto.md
 * ("The group", "Encodings") states them: the codecs with their refusals, and the
 * only two ways to multiply (secret scalar: constant-time; public scalar: fast).
 *
 * Everything here is @noble/curves (vendor/noble.mjs); no field or curve arithmetic
 * is written by hand. Scalars are bigints in [0, ℓ); elements are noble points.
 */
import { Field, bytesToHex, bytesToNumberLE, hexToBytes, numberToBytesLE, ristretto255 } from "../vendor/noble.mjs";

export const Point = ristretto255.Point;
/** ℓ = 2^252 + 27742317777372353535851937790883648493, the group's order. */
export const ORDER = Point.Fn.ORDER;
/** Scalars mod ℓ (noble's Field). */
export const Fq = Field(ORDER);
/** g, the ristretto255 base point; its wNAF table (window 8) is built once, here. */
export const G = Point.BASE;
G.precompute(8, false);
export const IDENTITY = Point.ZERO;

const HEX64 = /^[0-9a-f]{64}$/;

/** A refusal of trustee-mode data: `field` names what mismatched, the message why. */
export class TrusteeCryptoError extends Error {
  constructor(field, why) {
    super(`${field}: ${why}`);
    this.name = "TrusteeCryptoError";
    this.field = field;
  }
}

function hex32(value, field) {
  if (typeof value !== "string") throw new TrusteeCryptoError(field, "not a string of hex digits");
  if (!HEX64.test(value)) throw new TrusteeCryptoError(field, "not 64 lowercase hex digits (32 bytes)");
  return hexToBytes(value);
}

/**
 * An element from its 32 canonical bytes. Refuses a non-canonical encoding and the
 * identity (all zero bytes): no key, commitment, α, β, proof commitment or partial
 * decryption may be the identity.
 */
export function elementFromBytes(bytes, field) {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 32) {
    throw new TrusteeCryptoError(field, "an element is 32 bytes");
  }
  if (bytes.every((b) => b === 0)) throw new TrusteeCryptoError(field, "the identity element is refused");
  try {
    return Point.fromBytes(bytes);
  } catch {
    throw new TrusteeCryptoError(field, "not a canonical ristretto255 encoding");
  }
}

/** elementFromBytes over 64 lowercase hex digits (the JSON form). */
export function elementFromHex(hex, field) {
  return elementFromBytes(hex32(hex, field), field);
}

/** The 32 canonical bytes of an element. */
export function elementBytes(point) {
  return point.toBytes();
}

export function elementToHex(point) {
  return bytesToHex(point.toBytes());
}

/** A scalar from 32 little-endian bytes; refuses a value ≥ ℓ. */
export function scalarFromBytes(bytes, field) {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 32) {
    throw new TrusteeCryptoError(field, "a scalar is 32 bytes");
  }
  const value = bytesToNumberLE(bytes);
  if (value >= ORDER) throw new TrusteeCryptoError(field, "scalar not reduced (≥ ℓ)");
  return value;
}

export function scalarFromHex(hex, field) {
  return scalarFromBytes(hex32(hex, field), field);
}

/** Precondition: 0 ≤ scalar < ℓ. */
export function scalarBytes(scalar) {
  return numberToBytesLE(scalar, 32);
}

export function scalarToHex(scalar) {
  return bytesToHex(scalarBytes(scalar));
}

/** A 512-bit little-endian integer reduced mod ℓ (libsodium's scalar_reduce). */
export function reduceWide(bytes64) {
  return Fq.create(bytesToNumberLE(bytes64));
}

/** A uniformly random scalar: 64 bytes of crypto.getRandomValues reduced mod ℓ. */
export function randomScalar() {
  const bytes = new Uint8Array(64);
  globalThis.crypto.getRandomValues(bytes);
  const scalar = reduceWide(bytes);
  bytes.fill(0);
  return scalar;
}

/**
 * point^scalar for a SECRET scalar (ξ, u, a coefficient, a share): noble's
 * constant-time multiply. The identity for a zero scalar, as the Python wrappers.
 */
export function mulSecret(point, scalar) {
  return scalar === 0n ? IDENTITY : point.multiply(scalar);
}

/**
 * point^scalar for a PUBLIC scalar only (a published challenge or response, a
 * Lagrange coefficient, ℓ^j): noble's variable-time multiplyUnsafe.
 */
export function mulPublic(point, scalar) {
  return point.multiplyUnsafe(scalar);
}

/** The wNAF table (window 8) for a point multiplied many times, e.g. the joint key K. */
export function precomputed(point) {
  const copy = Point.fromBytes(point.toBytes());
  copy.precompute(8, false);
  return copy;
}

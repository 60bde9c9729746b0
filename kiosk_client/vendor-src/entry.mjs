// The one module the pages import (kiosk_client/static/js/vendor/noble.mjs): only what
// docs/trustee-crypto.md needs from @noble/curves and @noble/hashes. Built by build.mjs.
export { ristretto255 } from "@noble/curves/ed25519.js";
export { Field } from "@noble/curves/abstract/modular.js";
export { bytesToNumberLE, numberToBytesLE } from "@noble/curves/utils.js";
export { hmac } from "@noble/hashes/hmac.js";
export { sha256, sha512 } from "@noble/hashes/sha2.js";
export { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js";

/*
 * trustees/index.mjs — the trustee-mode cryptography of docs/trustee-crypto.md for the
 * tablet (voteContext, marksFromChoice, encryptBallot) and the scrutineer page (the
 * ceremony, partial decryption, the backup file). One import for the pages:
 *   import { voteContext, encryptBallot } from "./trustees/index.mjs";
 */
export { TrusteeCryptoError } from "./group.mjs";
export { ceremonyHash, checkLayout, manifestText, voteContext, voteHash } from "./vote.mjs";
export { ballotContext, encryptBallot, marksFromChoice, verifyBallot } from "./ballot.mjs";
export {
  checkCommitments, commitToPolynomial, decryptShare, encryptShare, evaluatePolynomial,
  feldmanHolds, jointKey, newPolynomial, publicShare, publicShareFrom, secretShare,
} from "./ceremony.mjs";
export { aggregate, aggregateBallots, checkPartial, combine, decryptCounts, lagrange, partialDecrypt } from "./decryption.mjs";
export { backupTrustee, restoreTrustee } from "./backup.mjs";
export { checkPresentedAggregates } from "./presented.mjs";

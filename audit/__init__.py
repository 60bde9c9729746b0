"""The audit log: canonical entries, the hash chain, Merkle heads, the verifier."""

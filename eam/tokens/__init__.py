"""Every token EAM issues (grant tokens, service tokens) is built and signed here: one claims
builder (RFC 9068 JWT access tokens) and one signer (joserfc, the same library that verifies)."""

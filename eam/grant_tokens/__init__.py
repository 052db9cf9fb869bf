"""Grant tokens: RFC 9068 JWT access tokens carrying RFC 9396 register-access details."""

"""EAM as an OAuth 2.0 authorization server for grant tokens: token exchange (RFC 8693),
introspection (RFC 7662), revocation (RFC 7009) and server metadata (RFC 8414)."""

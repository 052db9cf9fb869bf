"""Users: people identified by their login provider, created on first authentication."""

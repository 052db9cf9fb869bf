"""Authentication: bearer tokens checked by pluggable token sources.

A token source turns a bearer token into an :class:`~eam.auth.identity.Identity` or refuses it.
Development mode installs the dev-token source; the OIDC issue adds a provider source beside it.
"""

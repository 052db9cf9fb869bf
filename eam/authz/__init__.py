"""Authorisation: Casbin policies in ``casbin_rule``, one enforcer per process kept fresh."""

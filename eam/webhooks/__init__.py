"""Webhooks: audited changes pushed to subscribed applications (Standard Webhooks), and security
events (RFC 8417 SETs, CAEP) pushed to applications when access ends or narrows (RFC 8935)."""

"""Service clients: downstream applications and scripts that authenticate to EAM's OAuth endpoints."""

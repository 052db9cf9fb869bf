"""EAM: entity access management for health-data platforms."""

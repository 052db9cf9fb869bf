"""The catalogue: applications, their allowed profiles, and registers (data collections)."""

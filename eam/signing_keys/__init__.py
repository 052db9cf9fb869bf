"""Grant-token signing keys: generation, encryption at rest, rotation and the published JWKS."""

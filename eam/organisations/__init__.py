"""Healthcare organisations, identified by NIHDI number; disabled, never deleted."""

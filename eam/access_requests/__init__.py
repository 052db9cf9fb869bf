"""Access requests: pending → approved | rejected | withdrawn | expired."""

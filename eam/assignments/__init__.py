"""Assignments: an approved profile for user × organisation × application × register."""

"""Access reviews (recertification campaigns): reviewers keep, change or revoke each assignment in scope."""

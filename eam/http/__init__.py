"""HTTP plumbing shared by every feature: problems, the request context, pagination."""

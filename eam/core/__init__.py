"""What every feature shares: operation context, errors, settings, database, enums, paging."""

"""Access managers: per organisation, appointed by admins or fellow access managers; never zero."""

"""Who may do what in the clinic: roles, the permission matrix, login lockout, idle logout,
device/API tokens and the security checks run at start-up (see docs/security.md)."""

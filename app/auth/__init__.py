"""Accounts: sign-up with confirmation, log-in, password reset and change."""

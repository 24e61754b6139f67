"""Development-only helpers: `flask dev`, and the mailbox of the dev mail catcher."""

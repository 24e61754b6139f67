"""The admin mail console."""

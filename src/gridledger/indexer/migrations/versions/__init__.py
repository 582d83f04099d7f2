"""The index's migrations, oldest first."""

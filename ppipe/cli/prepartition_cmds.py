"""Placeholder: commands of this module arrive with their issue."""

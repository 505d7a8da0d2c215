"""The ticket pages of the desk, one module per part."""

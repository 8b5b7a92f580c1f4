"""Blueprint packages for the pages."""

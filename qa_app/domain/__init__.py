"""Pure pharmaceutical rules and numbers: no Flask, no database."""

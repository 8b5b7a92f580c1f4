"""Pages for master formulas: every version, drafting, and approval by signature."""

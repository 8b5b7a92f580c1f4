"""Pages for quality trending: the formulas with their open signals, and each formula's charts."""

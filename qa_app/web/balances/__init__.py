"""Pages for balances: the list, creating and changing one, its page with today's check, and the
balance chosen at a weighing workstation."""

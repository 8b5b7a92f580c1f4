"""Pages for storage units: the list, creating one, a unit's chart and readings, its excursions."""

"""Pages for storage units: the list and creating one."""

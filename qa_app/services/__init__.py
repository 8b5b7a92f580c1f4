"""The use cases: the only code that changes records, writes the audit trail and checks roles,
segregation of duties and states."""

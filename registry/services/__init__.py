"""Use cases: each applies the access rules, the store and the vault for one kind of record."""

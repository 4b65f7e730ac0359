"""Pure rules of omnistock: no I/O, no framework."""

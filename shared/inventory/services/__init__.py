"""Use cases: read through the data layer, decide with the rules, return plain results."""

"""Inventory automation domain layer: rules, data access and models shared by every function."""

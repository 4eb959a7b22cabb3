"""Derivative rules, one module per family; the registry is in registry.py."""

"""Agents, their runs and steps (next issue)."""

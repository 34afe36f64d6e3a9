"""Campaigns: the atheris driver, findings store, corpus, workers, status and resume."""

"""Shared fixtures. Keys and certificates are generated per test session."""

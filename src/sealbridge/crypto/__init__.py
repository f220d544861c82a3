"""Algorithms and keys: one KeyHandle interface whatever the algorithm or key store."""

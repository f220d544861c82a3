"""Verification: one verifier for every signature and stamp, in the eyes of any jurisdiction."""

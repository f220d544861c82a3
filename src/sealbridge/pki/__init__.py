"""Certification authority services: profiles, issuance, revocation, CRL, OCSP, TSA."""

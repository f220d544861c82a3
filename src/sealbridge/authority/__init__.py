"""Authority HTTP endpoints: CRL, OCSP, TSA and published documents such as trust lists."""

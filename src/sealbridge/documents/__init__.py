"""Documents that parties sign: PDF (PAdES) and OFD (GB/T 38540 seals)."""

"""Documents that parties sign: PDF (PAdES) and, later, OFD."""

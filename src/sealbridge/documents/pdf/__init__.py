"""PDF contracts and their PAdES signatures, built on pyHanko."""

"""Trust federation: trust lists, recognition agreements and the view of one jurisdiction."""

"""The ``sealbridge`` command line."""

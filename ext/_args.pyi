"""Argument coercion and checks shared by the extensions: C-level only (`cimport` it, see
_args.pxd); nothing to import from Python. Not public API."""

"""Unit, property and sans-IO scenario tests, mirroring the package layout."""

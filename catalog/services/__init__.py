"""Every write of the catalog. Split by topic; import from the submodules."""

"""Every write of the accounts app. Split by topic; import from the submodules."""

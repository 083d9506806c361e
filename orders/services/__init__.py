"""Every write to orders: `checkout` places them, `lifecycle` moves their items."""

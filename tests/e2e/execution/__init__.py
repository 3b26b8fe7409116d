"""The execution tests (contract §2, §4, §7) on each deployment."""

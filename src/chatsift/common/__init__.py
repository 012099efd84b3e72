"""What several layers use: language identification, the repeat cache. Imports nothing above it."""

"""Template upgrades: provenance of generated repositories, re-rendering, a three-way merge
with real git, and delivery as a pull request (docs/upgrades.md)."""

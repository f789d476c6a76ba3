"""Built-in scanners: `gap` (today's open vs the previous session's close) and
`volume_surge` (recent volume vs its trailing average at the same time of day).

Each module is a plugin registered like a third-party one (`register_scanners`); the
scanner protocol is in `mismartera.session.scanner` and docs/scanners.md."""

"""When an `unknown` send adopted the provider id of a callback that named its number (webapp.dispatch.adoption)."""

STEPS = [
    "ALTER TABLE send ADD COLUMN adopted_at TIMESTAMP",
]

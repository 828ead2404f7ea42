"""A send's callbacks by (provider, reference): with m0021's (provider, id) index beside it, a planner without
statistics would otherwise walk every callback of the provider to find one send's few."""

STEPS = [
    "CREATE INDEX callback_event_provider_reference ON callback_event (provider, reference)",
]

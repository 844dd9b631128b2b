"""CDS Hooks: routes (discovery, calls, feedback), request models, the hook registry, prefetch and cards."""

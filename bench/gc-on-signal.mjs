// Preloaded into the server by bench/soak.ts (with --expose-gc): SIGUSR2 runs a full
// garbage collection, so the soak reads the heap that is really live, not the
// saw-tooth between collections. Never loaded in production.
process.on('SIGUSR2', () => globalThis.gc?.())

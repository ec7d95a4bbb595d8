// tap's --import (.taprc): a test file given as TypeScript (`npx tap test/api/x.test.ts`)
// is loaded through tsx; the compiled files `npm test` runs from .build/ need no loader.
if (process.argv[1]?.endsWith('.ts')) await import('tsx')

#!/usr/bin/env -S node --max-semi-space-size=1
// The `salon` executable: runs the TypeScript sources through tsx's loader (no build step).
// A 1 MiB young generation (--max-semi-space-size=1) keeps memory per connection low: V8's
// default lets it grow to 16 MiB per semi-space under load, most of it RSS that never returns.
import { register } from 'tsx/esm/api';

register();
await import('./cli.ts');

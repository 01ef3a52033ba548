#!/usr/bin/env node
// The `salon` executable: runs the TypeScript sources through tsx's loader (no build step).
import { register } from 'tsx/esm/api';

register();
await import('./cli.ts');

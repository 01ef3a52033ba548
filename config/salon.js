#!/usr/bin/env -S node --max-semi-space-size=4 --initial-old-space-size=128
// The `salon` executable: runs the TypeScript sources through tsx's loader (no build step).
// The young generation is capped at 4 MiB per semi-space (--max-semi-space-size=4; package.json's
// scripts pass the same flags, test/unit/bench/server-command.test.ts checks it). V8's default
// lets it grow to 16 MiB under load, most of it RSS that never returns. 1 MiB, the earlier cap,
// suited XMPP sessions but not the bridge: its packets' bookkeeping lives tens of milliseconds,
// past two scavenges of 1 MiB, and so reached the old generation, whose collections (about one a
// second in 50 rooms of three) then held forwarding for up to 16 ms. With 4 MiB nearly all of it
// dies young (bench/README.md, "The server's young generation"); an idle XMPP session measured
// 6–13 KB of RSS against 2–10 KB (runs' spread; Prosody's, about 40).
// The old generation is not collected in full below 128 MiB (--initial-old-space-size=128: V8
// skips full collections below the initial size an embedder sets). Otherwise V8 may set the next
// limit just above what survived a collection: in some runs of 20 rooms of three, a full
// collection every 1–2 s that freed 1 MB of 42, its marking steps holding forwarding for up to
// 20 ms (bench/README.md, "Old-generation collections in rooms of three"). The cost: garbage
// waits longer for its collection; the XMPP benchmark's RSS per idle session (spread, not
// collected before it is read) went from 8.4–8.6 KB to 18.8–19.8 KB, in one-room from 4.4 to
// 24.7 KB (Prosody's: about 40 and 68).
import { register } from 'tsx/esm/api';

register();
await import('./cli.ts');

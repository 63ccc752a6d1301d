#!/usr/bin/env node
/**
 * `npm start`: builds the app, then serves the build, in this one process (Vite's JS API), so that stopping it by
 * its PID, by Ctrl-C, or through npm (which forwards SIGTERM and SIGINT) stops the server with it. It also stops
 * when its parent goes away without a signal (npm killed with SIGKILL), instead of serving on as an orphan.
 * PORT chooses the port (4173 by default).
 */
import { build, preview } from 'vite';

const port = Number(process.env.PORT ?? 4173);
await build();
const server = await preview({ preview: { port, strictPort: true } });
server.printUrls();

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await server.close().catch(() => undefined);
  process.exit(0);
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, stop);
const parent = process.ppid;
// Orphans are re-parented (to init or a subreaper): a changed parent means the one that started us is gone.
setInterval(() => {
  if (process.ppid !== parent) void stop();
}, 500).unref();

import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import ShareDB from 'sharedb';
import { startPadService } from '../../../web/server/pad/index.ts';

/** A pino logger at debug level whose lines are kept as text. */
function capturingLog(): { log: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(chunk.toString()); done(); } });
  return { log: pino({ level: 'debug' }, sink), lines };
}

describe('web/server/pad (the documents service)', () => {
  it('routes sharedb\'s process-wide logger once: a later service start leaves it where it is', async () => {
    const first = capturingLog();
    const second = capturingLog();
    const a = startPadService({ log: first.log, allowedOrigins: new Set() });
    const methods = { info: ShareDB.logger.info, warn: ShareDB.logger.warn, error: ShareDB.logger.error };
    const b = startPadService({ log: second.log, allowedOrigins: new Set() });
    try {
      assert.equal(ShareDB.logger.info, methods.info);
      assert.equal(ShareDB.logger.warn, methods.warn);
      assert.equal(ShareDB.logger.error, methods.error);
      ShareDB.logger.warn('marker-from-sharedb');
      assert.ok(!second.lines.some((line) => line.includes('marker-from-sharedb')), 'the second service did not take sharedb\'s lines');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

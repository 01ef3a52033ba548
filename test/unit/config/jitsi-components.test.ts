import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../config/load.ts';

const BASE_ENV = { XDG_DATA_HOME: '/nonexistent/data' };

describe('config: Jitsi\'s A/V moderation and end-conference components', () => {
  it('are on by default, at docker-jitsi-meet\'s addresses (derived at start)', () => {
    const { config } = loadConfig([], BASE_ENV);
    assert.equal(config.xmpp.avModeration, true);
    assert.equal(config.xmpp.endConference, true);
    assert.equal(config.xmpp.avModerationDomain, undefined, 'avmoderation.<domain> when unset');
    assert.equal(config.xmpp.endConferenceDomain, undefined, 'endconference.<domain> when unset');
  });

  it('are turned off by docker-jitsi-meet\'s ENABLE_AV_MODERATION and ENABLE_END_CONFERENCE', () => {
    const { config } = loadConfig([], { ...BASE_ENV, ENABLE_AV_MODERATION: 'false', ENABLE_END_CONFERENCE: '0' });
    assert.equal(config.xmpp.avModeration, false);
    assert.equal(config.xmpp.endConference, false);
  });

  it('take other addresses from the configuration file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'salon-config-'));
    try {
      const file = join(dir, 'salon.json');
      await writeFile(file, JSON.stringify({ xmpp: { avModerationDomain: 'avmod.example.org', endConferenceDomain: 'end.example.org' } }));
      const { config } = loadConfig(['--config', file], BASE_ENV);
      assert.equal(config.xmpp.avModerationDomain, 'avmod.example.org');
      assert.equal(config.xmpp.endConferenceDomain, 'end.example.org');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

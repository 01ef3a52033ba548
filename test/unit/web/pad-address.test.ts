import assert from 'node:assert/strict';
import { padSocketUrl } from '../../../web/client/doc/address.ts';
import { PAD_PATH } from '../../../web/client/doc/wire.ts';

const ID = 'q1w2e3r4t5y6u7i8';
const SECRET = 'Zm9vYmFyYmF6cXV4cXV1eA';

describe('web/client/doc/address and wire (document addresses)', () => {
  it('maps the standalone page /etherpad/p/<id>.<secret> to the document WebSocket on the same host', () => {
    assert.equal(padSocketUrl({ protocol: 'https:', host: 'meet.example.org', pathname: `/etherpad/p/${ID}.${SECRET}` }), `wss://meet.example.org/pad/${ID}.${SECRET}`);
    assert.equal(padSocketUrl({ protocol: 'http:', host: '127.0.0.1:8000', pathname: `/etherpad/p/${ID}.${SECRET}` }), `ws://127.0.0.1:8000/pad/${ID}.${SECRET}`);
  });

  it('finds no document in a page path without the capability, or with anything odd', () => {
    for (const pathname of [`/etherpad/p/${ID}`, '/etherpad/p/myroom', `/etherpad/p/${ID}.${SECRET}/x`, '/etherpad/p/', `/etherpad/p/..%2f${ID}.${SECRET}`, `/other/p/${ID}.${SECRET}`]) {
      assert.equal(padSocketUrl({ protocol: 'https:', host: 'h', pathname }), undefined, pathname);
    }
  });

  it('reads the document id and the optional secret from /pad paths, under a tenant too', () => {
    assert.deepEqual(PAD_PATH.exec(`/pad/${ID}?token=abc`)?.slice(1), [ID, undefined]);
    assert.deepEqual(PAD_PATH.exec(`/pad/${ID}.${SECRET}`)?.slice(1), [ID, SECRET]);
    assert.deepEqual(PAD_PATH.exec(`/tenant/pad/${ID}`)?.slice(1), [ID, undefined]);
    for (const path of ['/pad/short', `/pad/${ID}/x`, `/a/b/pad/${ID}`, `/pad/${ID}.`, `/pad/${ID}.${SECRET}.x`, '/xmpp-websocket']) {
      assert.equal(PAD_PATH.test(path), false, path);
    }
  });
});

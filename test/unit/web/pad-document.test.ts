import assert from 'node:assert/strict';
import { pino } from 'pino';
import { PadCloseCode } from '../../../web/client/doc/wire.ts';
import type { PadConnection } from '../../../web/server/pad/connection.ts';
import { SharedDocument, type ConnectionCaps } from '../../../web/server/pad/document.ts';
import { TokenSigner } from '../../../web/server/pad/tokens.ts';

const ROOM = 'myroom@muc.meet.jitsi';

/** What the document knows of a connection: whose it is, whether it is still admitted, its close. */
class FakeConnection {
  closedWith: number | undefined;
  constructor(readonly occupant: string | undefined) {}
  get admitted(): boolean {
    return this.closedWith === undefined;
  }
  close(code: number): void {
    this.closedWith ??= code;
  }
}

function makeDocument(options: { capability?: boolean; caps?: Partial<ConnectionCaps> } = {}): SharedDocument {
  return new SharedDocument({
    room: ROOM,
    tokens: new TokenSigner(),
    capability: options.capability ?? true,
    caps: { perDocument: 100, perOccupant: 4, perCapability: 50, ...options.caps },
    log: pino({ level: 'silent' }),
    onDestroyed: () => undefined,
  });
}

/** Attaches a fake connection as the service does once it is admitted. */
function connect(document: SharedDocument, occupant: string | undefined): FakeConnection {
  const connection = new FakeConnection(occupant);
  document.attach(connection as unknown as PadConnection);
  return connection;
}

const secretOf = (document: SharedDocument): string => document.name!.split('.')[1]!;

describe('web/server/pad/document (one conference\'s document: ways in, caps, renewal)', () => {
  it('renews its capability name: the old one is refused and its connections close, token connections stay', () => {
    const document = makeDocument();
    const oldName = document.name!;
    const oldSecret = secretOf(document);
    const { token } = document.grant(`${ROOM}/alice`);
    const viaToken = connect(document, `${ROOM}/alice`);
    const viaName = [connect(document, undefined), connect(document, undefined)];

    document.renewName();
    assert.notEqual(document.name, oldName);
    assert.equal(document.name!.split('.')[0], document.id, 'the same document under a new secret');
    assert.deepEqual(viaName.map((c) => c.closedWith), [PadCloseCode.refused, PadCloseCode.refused]);
    assert.equal(viaToken.closedWith, undefined);

    const old = document.admitCapability(oldSecret);
    assert.equal(old.ok, false);
    assert.equal(!old.ok && old.code, PadCloseCode.refused, 'a replaced name is refused, not called unknown');
    const wrong = document.admitCapability('A'.repeat(22));
    assert.equal(!wrong.ok && wrong.code, PadCloseCode.gone, 'a wrong secret still learns nothing');
    assert.deepEqual(document.admitCapability(secretOf(document)), { ok: true, occupant: undefined });
    assert.deepEqual(document.admitToken(token), { ok: true, occupant: `${ROOM}/alice` });
  });

  it('caps connections per occupant, through the name, and per document; closing ones hold no place', () => {
    const document = makeDocument({ caps: { perDocument: 6, perOccupant: 2, perCapability: 3 } });
    const alice = document.grant(`${ROOM}/alice`).token;
    const bob = document.grant(`${ROOM}/bob`).token;
    const secret = secretOf(document);
    const refusedWhy = (admission: ReturnType<SharedDocument['admitToken']>): string | undefined => {
      if (admission.ok) return undefined;
      assert.equal(admission.code, PadCloseCode.refused);
      return admission.why;
    };

    const aliceFirst = connect(document, `${ROOM}/alice`);
    connect(document, `${ROOM}/alice`);
    assert.equal(refusedWhy(document.admitToken(alice)), 'occupant cap');
    assert.equal(document.admitToken(bob).ok, true, 'another occupant is not held back by alice\'s cap');

    for (let i = 0; i < 3; i++) connect(document, undefined);
    assert.equal(refusedWhy(document.admitCapability(secret)), 'capability cap');

    connect(document, `${ROOM}/bob`);
    assert.equal(refusedWhy(document.admitToken(bob)), 'document cap', 'six connections: the document is full');

    aliceFirst.close(1000);
    assert.equal(document.admitToken(alice).ok, true, 'a closing connection frees its place at once');
  });

  it('opens with tokens only when capability access is off: no name, every capability refused, nothing to renew', () => {
    const document = makeDocument({ capability: false });
    assert.equal(document.name, undefined);
    const attempt = document.admitCapability('A'.repeat(22));
    assert.equal(!attempt.ok && attempt.code, PadCloseCode.refused);
    document.renewName();
    assert.equal(document.name, undefined);
    assert.equal(document.admitToken(document.grant(`${ROOM}/alice`).token).ok, true);
  });

  it('closes every connection and refuses everything once destroyed, the old names included', () => {
    const document = makeDocument();
    const oldSecret = secretOf(document);
    document.renewName();
    const secret = secretOf(document);
    const token = document.grant(`${ROOM}/alice`).token;
    const connections = [connect(document, `${ROOM}/alice`), connect(document, undefined)];
    document.destroy();
    assert.deepEqual(connections.map((c) => c.closedWith), [PadCloseCode.gone, PadCloseCode.gone]);
    for (const admission of [document.admitCapability(secret), document.admitCapability(oldSecret), document.admitToken(token)]) {
      assert.equal(!admission.ok && admission.code, PadCloseCode.gone);
    }
  });
});

/**
 * The editor's sync keeps a document open across refusals it can cure: a refused token (expired,
 * or ours from before a rejoin) is replaced by a fresh one from the focus; a token it cannot renew
 * ends in "refused", and a renewal that fails for now is tried again instead of reusing the old token.
 */
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { DocumentSync, type SyncStatus } from '../../web/client/doc/sync.ts';
import { joinConference, type ConferenceParticipant } from './conference-participant.ts';
import { startTestServer, stopClient, type TestServer } from './harness.ts';
import { requestDocument, socketUrl, waitFor } from './pad-client.ts';

describe('shared document: token renewal in the editor\'s sync', function () {
  this.timeout(30_000);
  let server: TestServer;
  let alice: ConferenceParticipant;
  const room = `renew-${Date.now().toString(36)}@muc.meet.jitsi`;
  const syncs: DocumentSync[] = [];

  before(async () => {
    server = await startTestServer();
    alice = await joinConference(server, room, 'alice');
  });
  after(async () => {
    for (const s of syncs) s.close();
    if (alice) await stopClient(alice.client);
    await server?.close();
  });

  function open(token: string, renew: () => Promise<{ url: string; token: string }>): { sync: DocumentSync; statuses: SyncStatus[] } {
    const statuses: SyncStatus[] = [];
    const sync = new DocumentSync(
      { url: urlOf(), token, renew, WebSocket: WebSocket as unknown as typeof globalThis.WebSocket, reconnectDelayMs: { first: 50, max: 200 } },
      { load: () => undefined, remoteChange: () => undefined, status: (s) => void statuses.push(s), refused: () => undefined },
    );
    syncs.push(sync);
    return { sync, statuses };
  }

  let path = '';
  const urlOf = () => socketUrl(server, path);
  const fresh = async () => {
    const grant = await requestDocument(alice.client, room);
    path = grant.path;
    return { url: socketUrl(server, grant.path), token: grant.token };
  };

  it('a refused token is replaced by a fresh one from the focus, and the document syncs', async () => {
    const { token } = await fresh();
    const [payload] = token.split('.') as [string, string];
    let renewals = 0;
    const { sync, statuses } = open(`${payload}.forged`, async () => { renewals++; return fresh(); });
    await waitFor(() => sync.status === 'synced', `sync after renewal (${statuses.join(' → ')})`);
    assert.equal(renewals, 1);
    assert.ok(statuses.includes('offline'), 'the refusal was seen before the renewal');
  });

  it('gives up with "refused" when even the renewed token is refused', async () => {
    const { token } = await fresh();
    const forged = `${token.split('.')[0]}.forged`;
    const { sync } = open(forged, async () => ({ url: urlOf(), token: forged }));
    await waitFor(() => sync.status === 'refused', 'refused after a second refusal');
  });

  it('tries again later when the renewal fails, instead of reusing the refused token', async () => {
    const { token } = await fresh();
    let calls = 0;
    const { sync } = open(`${token.split('.')[0]}.forged`, async () => {
      calls++;
      if (calls < 3) throw new Error('signalling down');
      return fresh();
    });
    await waitFor(() => sync.status === 'synced', 'synced once the renewal works');
    assert.equal(calls, 3);
  });
});

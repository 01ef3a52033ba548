/**
 * The browser client's XMPP connection against a scripted server behind a fake WebSocket: login,
 * IQ answers only from the addressee, XEP-0198 acknowledgements, resumption with replay, and no
 * resumption after a final stream error.
 */
import assert from 'node:assert/strict';
import { Element, parse } from 'ltx';
import { XmppConnection, type ConnectionStatus } from '../../../web/client/xmpp/connection.ts';

/** One fake socket: what the client sent, and a way to answer as the server. */
class FakeSocket {
  static readonly OPEN = 1;
  static all: FakeSocket[] = [];
  readyState = 0;
  readonly sent: Element[] = [];
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  private readonly listeners = new Map<string, Array<() => void>>();
  /** The server every new socket talks to; set by the test. */
  static serve: (frame: Element, socket: FakeSocket) => void = () => undefined;
  /** Answers frames as they come. */
  server = FakeSocket.serve;

  constructor(readonly url: string, readonly protocol: string) {
    FakeSocket.all.push(this);
    queueMicrotask(() => {
      this.readyState = FakeSocket.OPEN;
      for (const l of this.listeners.get('open') ?? []) l();
    });
  }

  addEventListener(type: string, listener: () => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  send(text: string): void {
    const frame = parse(text);
    this.sent.push(frame);
    queueMicrotask(() => this.server(frame, this));
  }

  deliver(xml: string): void {
    this.onmessage?.({ data: xml });
  }

  close(): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    for (const l of this.listeners.get('close') ?? []) l();
    this.onclose?.();
  }
}

const FEATURES_AUTH = '<features xmlns="http://etherx.jabber.org/streams"><mechanisms xmlns="urn:ietf:params:xml:ns:xmpp-sasl"><mechanism>ANONYMOUS</mechanism></mechanisms></features>';
const FEATURES_BOUND = '<features xmlns="http://etherx.jabber.org/streams"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"/><sm xmlns="urn:xmpp:sm:3"/></features>';

/** A server that logs the client in (fresh or resumed) and records the stanzas it gets. */
function loginServer(state: { stanzas: Element[]; resumedH?: number; smId: string; handled: number; refuseResume?: boolean }) {
  return (frame: Element, socket: FakeSocket) => {
    if (frame.name === 'open') socket.deliver(socket.sent.filter((f) => f.name === 'open').length === 1 ? FEATURES_AUTH : FEATURES_BOUND);
    else if (frame.name === 'auth') socket.deliver('<success xmlns="urn:ietf:params:xml:ns:xmpp-sasl"/>');
    else if (frame.name === 'iq' && frame.getChild('bind')) socket.deliver(`<iq type="result" id="${frame.attrs.id}"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"><jid>u1@meet.jitsi/r1</jid></bind></iq>`);
    else if (frame.name === 'enable') socket.deliver(`<enabled xmlns="urn:xmpp:sm:3" resume="true" id="${state.smId}"/>`);
    else if (frame.name === 'resume') {
      state.resumedH = Number(frame.attrs.h);
      socket.deliver(state.refuseResume ? '<failed xmlns="urn:xmpp:sm:3"/>' : `<resumed xmlns="urn:xmpp:sm:3" previd="${state.smId}" h="${state.handled}"/>`);
    } else if (frame.name === 'r') socket.deliver(`<a xmlns="urn:xmpp:sm:3" h="${state.handled}"/>`);
    else if (['iq', 'message', 'presence'].includes(frame.name)) state.stanzas.push(frame);
  };
}

/**
 * Waits for `condition` through event-loop turns that let timers run too (a resumption waits on
 * a timer, which a count of setImmediate turns can outrun); gives up after 5 s.
 */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
  assert.ok(condition(), what);
}

describe('web client: XMPP connection', () => {
  // Whatever is there when each test starts (other suites install `ws` as the global WebSocket).
  let saved: unknown;
  beforeEach(() => {
    saved = (globalThis as { WebSocket?: unknown }).WebSocket;
    FakeSocket.all = [];
    (globalThis as { WebSocket?: unknown }).WebSocket = FakeSocket;
  });
  afterEach(() => {
    // Node 20 has no global WebSocket of its own: leave none behind when there was none.
    if (saved === undefined) delete (globalThis as { WebSocket?: unknown }).WebSocket;
    else (globalThis as { WebSocket?: unknown }).WebSocket = saved;
  });

  async function connected(state: Parameters<typeof loginServer>[0], token?: string) {
    const connection = new XmppConnection({ url: 'wss://meet.example/xmpp-websocket', domain: 'meet.jitsi', resumeDelayMs: 0, ...(token ? { token } : {}) });
    const statuses: ConnectionStatus[] = [];
    connection.onStatus((s) => statuses.push(s));
    FakeSocket.serve = loginServer(state);
    await connection.connect();
    return { connection, statuses, socket: FakeSocket.all[0]! };
  }

  it('logs in anonymously with the token in the URL, binds and enables resumable stream management', async () => {
    const state = { stanzas: [], smId: 'sm-1', handled: 0 };
    const { connection, socket } = await connected(state, 'a.b.c');
    assert.equal(connection.jid, 'u1@meet.jitsi/r1');
    assert.equal(new URL(socket.url).searchParams.get('token'), 'a.b.c');
    assert.equal(socket.protocol, 'xmpp');
    assert.deepEqual(socket.sent.map((f) => f.name), ['open', 'auth', 'open', 'iq', 'enable']);
    assert.equal(socket.sent[1]!.attrs.mechanism, 'ANONYMOUS');
    connection.close();
  });

  it('takes an IQ answer only from the address the request went to', async () => {
    const state = { stanzas: [] as Element[], smId: 'sm-2', handled: 0 };
    const { connection, socket } = await connected(state);
    let answered: Element | undefined;
    void connection.iq(new Element('iq', { type: 'get', to: 'focus.meet.jitsi' }).c('query', { xmlns: 'x' }).root()).then((r) => { answered = r; });
    await until(() => state.stanzas.length === 1, 'the request went out');
    const id = state.stanzas[0]!.attrs.id as string;
    assert.match(id, /^[0-9a-f]{12}\d+$/, 'an unpredictable id');
    socket.deliver(`<iq type="result" id="${id}" from="evil@meet.jitsi/x"/>`);
    await new Promise((r) => setImmediate(r));
    assert.equal(answered, undefined, 'a forged answer is ignored');
    socket.deliver(`<iq type="result" id="${id}" from="focus.meet.jitsi"/>`);
    await until(() => answered !== undefined, 'the real answer resolves the request');
    connection.close();
  });

  it('answers the server\'s <r/> with the count of stanzas it handled', async () => {
    const state = { stanzas: [], smId: 'sm-3', handled: 0 };
    const { connection, socket } = await connected(state);
    socket.deliver('<message from="r@muc.meet.jitsi/a" type="groupchat"><body>1</body></message>');
    socket.deliver('<presence from="r@muc.meet.jitsi/a"/>');
    socket.deliver('<r xmlns="urn:xmpp:sm:3"/>');
    await until(() => socket.sent.some((f) => f.name === 'a'), 'an <a/> went out');
    assert.equal(socket.sent.find((f) => f.name === 'a')!.attrs.h, '2');
    connection.close();
  });

  it('resumes on a new socket after a drop, with previd and h, and replays what the server had not handled', async () => {
    const state: Parameters<typeof loginServer>[0] = { stanzas: [], smId: 'sm-4', handled: 0 };
    const { connection, statuses, socket } = await connected(state);
    socket.deliver('<message from="r@muc.meet.jitsi/a" type="groupchat"><body>seen</body></message>');
    connection.send(new Element('message', { to: 'r@muc.meet.jitsi', type: 'groupchat' }).c('body').t('one').root());
    connection.send(new Element('message', { to: 'r@muc.meet.jitsi', type: 'groupchat' }).c('body').t('two').root());
    await until(() => state.stanzas.length === 2, 'both sent');
    state.handled = 1; // the server handled "one" only
    socket.close();
    await until(() => FakeSocket.all.length === 2, 'a new socket');
    const second = FakeSocket.all[1]!;
    await until(() => statuses.at(-1) === 'online' && statuses.includes('resumed'), `resumed (${statuses.join(',')})`);
    assert.equal(new URL(second.url).searchParams.get('previd'), 'sm-4');
    assert.equal(state.resumedH, 1, 'h counts the stanzas we handled');
    assert.deepEqual(second.sent.filter((f) => f.name === 'message').map((f) => f.getChildText('body')), ['two']);
    assert.ok(statuses.includes('reconnecting'));
    connection.close();
  });

  it('does not try to resume after a final stream error (conflict), and fails pending requests', async () => {
    const state = { stanzas: [] as Element[], smId: 'sm-5', handled: 0 };
    const { connection, statuses, socket } = await connected(state);
    const request = connection.iq(new Element('iq', { type: 'get', to: 'focus.meet.jitsi' }).c('query', { xmlns: 'x' }).root());
    socket.deliver('<stream:error xmlns:stream="http://etherx.jabber.org/streams"><conflict xmlns="urn:ietf:params:xml:ns:xmpp-streams"/></stream:error>');
    await assert.rejects(request, /gone/);
    assert.equal(statuses.at(-1), 'closed');
    assert.equal(FakeSocket.all.length, 1, 'no new socket');
    await assert.rejects(connection.iq(new Element('iq', { type: 'get' })), /closed/);
  });
  it('signs in with SCRAM-SHA-1 when offered (proving the server too), adds the room to the URL, reports a wrong password', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { AccountStore } = await import('../../../xmpp/accounts.ts');
    const { ScramMechanism } = await import('../../../xmpp/sasl/scram.ts');
    const dir = await mkdtemp(join(tmpdir(), 'salon-web-login-'));
    try {
      const accounts = await AccountStore.open(join(dir, 'accounts.json'), { storage: 'scram' });
      await accounts.setPassword('alice@meet.jitsi', 'correct horse');
      const state = { stanzas: [] as Element[], smId: 'sm-scram', handled: 0 };
      const anonymous = loginServer(state);
      const features = '<features xmlns="http://etherx.jabber.org/streams"><mechanisms xmlns="urn:ietf:params:xml:ns:xmpp-sasl"><mechanism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism></mechanisms></features>';
      const sasl = 'urn:ietf:params:xml:ns:xmpp-sasl';
      FakeSocket.serve = (frame, socket) => {
        const server = ((socket as unknown as { scram?: InstanceType<typeof ScramMechanism> }).scram ??= new ScramMechanism('sha1',
          { domain: 'meet.jitsi', secure: true, remoteAddress: '127.0.0.1', query: new URLSearchParams() }, accounts));
        const answer = (response: string) => server.step(Buffer.from(response, 'base64')).then(
          (step) => socket.deliver(step.kind === 'challenge'
            ? `<challenge xmlns="${sasl}">${step.data.toString('base64')}</challenge>`
            : `<success xmlns="${sasl}">${step.data?.toString('base64') ?? ''}</success>`),
          () => socket.deliver(`<failure xmlns="${sasl}"><not-authorized/></failure>`));
        if (frame.name === 'open' && socket.sent.filter((f) => f.name === 'open').length === 1) socket.deliver(features);
        else if (frame.name === 'auth') void answer(frame.getText());
        else if (frame.name === 'response') void answer(frame.getText());
        else anonymous(frame, socket);
      };
      const connect = (password: string) => new XmppConnection({
        url: 'wss://meet.example/xmpp-websocket', domain: 'meet.jitsi', room: 'team', credentials: { username: 'alice', password },
      });
      const good = connect('correct horse');
      await good.connect();
      const socket = FakeSocket.all.at(-1)!;
      assert.equal(new URL(socket.url).searchParams.get('room'), 'team');
      assert.equal(socket.sent.find((f) => f.name === 'auth')?.attrs.mechanism, 'SCRAM-SHA-1');
      assert.equal(good.jid, 'u1@meet.jitsi/r1');
      good.close();
      await assert.rejects(connect('wrong horse').connect(), { message: 'login refused: not-authorized' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

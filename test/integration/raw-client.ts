/**
 * A deliberately raw XMPP-over-WebSocket client for tests that must send what no library would
 * (malformed XML, split frames, forged addresses) or observe frames exactly. The server sends one
 * element per frame, so each received frame is parsed on its own.
 */
import { parse, type Element } from 'ltx';
import WebSocket from 'ws';

export class RawWsClient {
  readonly frames: string[] = [];
  readonly elements: Element[] = [];
  closeCode: number | undefined;
  private readonly opened: Promise<void>;
  readonly closed: Promise<number>;

  constructor(readonly url: string, options: { origin?: string; protocol?: string | null; localAddress?: string } = {}) {
    const protocols = options.protocol === null ? [] : [options.protocol ?? 'xmpp'];
    this.ws = new WebSocket(url, protocols, {
      ...(options.origin ? { headers: { Origin: options.origin } } : {}),
      // Another loopback address (127.0.0.2) stands for another machine in limits keyed by address.
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    this.closed = new Promise((resolve) => this.ws.once('close', (code) => resolve((this.closeCode = code))));
    this.ws.on('error', () => undefined);
    this.ws.on('message', (data) => {
      const text = data.toString();
      this.frames.push(text);
      try {
        this.elements.push(parse(text));
      } catch {
        // kept in `frames`; a test that cares asserts on the text
      }
    });
  }

  readonly ws: WebSocket;

  open(): Promise<void> {
    return this.opened;
  }

  send(data: string | Buffer): void {
    this.ws.send(data);
  }

  async waitFor(predicate: (el: Element) => boolean, timeoutMs = 5000, what = 'element'): Promise<Element> {
    const deadline = Date.now() + timeoutMs;
    let seen = 0;
    for (;;) {
      for (; seen < this.elements.length; seen++) {
        const el = this.elements[seen]!;
        if (predicate(el)) {
          this.elements.splice(seen, 1);
          return el;
        }
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; frames: ${this.frames.join('\n').slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Waits for a `<stream:error>` and returns its condition. */
  async streamError(timeoutMs = 5000): Promise<string> {
    const el = await this.waitFor((e) => e.name === 'stream:error', timeoutMs, 'stream error');
    const condition = el.children.find((c): c is Element => typeof c !== 'string' && c.name !== 'text');
    return condition?.name ?? 'none';
  }

  /** Runs open → SASL ANONYMOUS → restart → bind; returns the bound JID. */
  async loginAnonymous(domain = 'meet.jitsi'): Promise<string> {
    await this.authenticateAnonymous(domain);
    return this.bind();
  }

  /** Runs open → SASL ANONYMOUS → restart, up to the features offering bind and resumption. */
  async authenticateAnonymous(domain = 'meet.jitsi'): Promise<void> {
    await this.open();
    this.send(`<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="${domain}" version="1.0"/>`);
    await this.waitFor((e) => e.name === 'stream:features', 5000, 'features');
    this.send('<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="ANONYMOUS"/>');
    await this.waitFor((e) => e.name === 'success', 5000, 'SASL success');
    this.send(`<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="${domain}" version="1.0"/>`);
    await this.waitFor((e) => e.name === 'stream:features', 5000, 'features after restart');
  }

  async bind(): Promise<string> {
    this.send('<iq xmlns="jabber:client" type="set" id="bind1"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"/></iq>');
    const result = await this.waitFor((e) => e.name === 'iq' && e.attrs.id === 'bind1', 5000, 'bind result');
    return result.getChild('bind')!.getChildText('jid')!;
  }

  close(): void {
    this.ws.terminate();
  }
}

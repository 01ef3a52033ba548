// A minimal page that loads lib-jitsi-meet (LJM, the @lyno/lib-jitsi-meet 2.6726 UMD bundle) and
// exposes `window.salonTest` for Playwright to drive. See LJM-NOTES.md for what LJM sends/expects.
//
// The server under test must serve:
//   <libsBase>/jquery.min.js           -> JQUERY_BUNDLE_PATH
//   <libsBase>/lib-jitsi-meet.min.js   -> LJM_BUNDLE_PATH
//   the config script (configJsUrl)    -> `var config = {...}` (hosts, websocket, ...)
//
// jQuery is needed because this bundle declares jquery as a webpack *external*: the UMD wrapper
// reads `self.jquery` (lower-case) at load time. The page therefore loads jQuery and sets
// `window.jquery = window.jQuery` before loading LJM.

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Absolute path of the LJM UMD bundle (exposes `window.JitsiMeetJS`). */
export const LJM_BUNDLE_PATH: string = require.resolve('@lyno/lib-jitsi-meet/lib-jitsi-meet.min.js');

/** Absolute path of the jQuery build LJM was built against (resolved from the LJM package). */
export const JQUERY_BUNDLE_PATH: string = createRequire(LJM_BUNDLE_PATH).resolve('jquery/dist/jquery.min.js');

/** URL path -> file, for the static routes the harness page needs (with the default libsBase). */
export const LJM_PAGE_ASSETS: Readonly<Record<string, string>> = {
  '/libs/jquery.min.js': JQUERY_BUNDLE_PATH,
  '/libs/lib-jitsi-meet.min.js': LJM_BUNDLE_PATH,
  // End-to-end encryption's worker, which LJM loads from beside its bundle.
  '/libs/lib-jitsi-meet.e2ee-worker.js': require.resolve('@lyno/lib-jitsi-meet/lib-jitsi-meet.e2ee-worker.js'),
  // The Olm library jitsi-meet loads for E2EE's key exchange (libs/olm.js); a test adds it to its page (addScriptTag).
  '/libs/olm.js': require.resolve('@matrix-org/olm/olm.js'),
  '/libs/olm.wasm': require.resolve('@matrix-org/olm/olm.wasm'),
};

export interface LjmHarnessOptions {
  /** Where jquery.min.js and lib-jitsi-meet.min.js are served (default `/libs`). */
  libsBase?: string;
  /** Page title (default `salon-ljm-harness`). */
  title?: string;
}

/** Shapes of what `window.salonTest` returns to page.evaluate() (all JSON-serialisable). */
export interface LjmEvent {
  /** ms since the harness script started */
  t: number;
  source: 'connection' | 'conference' | 'harness';
  /** LJM event constant, e.g. CONFERENCE_JOINED */
  key: string;
  /** LJM event string, e.g. conference.joined */
  name: string;
  args: unknown[];
}
export interface LjmXmppFrame {
  t: number;
  dir: 'in' | 'out';
  data: string;
}
export interface LjmResult {
  ok: boolean;
  error?: string;
  message?: string;
  jid?: string;
  event?: LjmEvent;
}

/**
 * HTML of the harness page. `window.salonTest` offers:
 *   connect(room, {timeoutMs, logLevel, connectionOverrides}) -> {ok, jid} | {ok:false, error, message}
 *   join(room, nick, {timeoutMs, conferenceOverrides})        -> {ok, event}: CONFERENCE_JOINED or CONFERENCE_FAILED
 *   sendMessage(text), leave(), disconnect()
 *   waitForEvent(key, timeoutMs, fromIndex)                   -> first event with that key (or its string name)
 *   watch(conference)                                         -> records a conference's events too
 *   events[], xmpp[] (raw XMPP frames in/out), myUserId(), participants(), clear()
 */
export function ljmHarnessHtml(configJsUrl: string, opts: LjmHarnessOptions = {}): string {
  const libs = (opts.libsBase ?? '/libs').replace(/\/+$/, '');
  const title = opts.title ?? 'salon-ljm-harness';
  return `<!doctype html>
<html>
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<script src="${escapeHtml(`${libs}/jquery.min.js`)}"></script>
<script>window.jquery = window.jQuery;</script>
<script src="${escapeHtml(configJsUrl)}"></script>
<script src="${escapeHtml(`${libs}/lib-jitsi-meet.min.js`)}"></script>
</head>
<body>
<pre id="status">loading</pre>
<script>
${HARNESS_SCRIPT}
</script>
</body>
</html>
`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// Runs in the page. Plain ES2020, no template literals (it is embedded in one).
const HARNESS_SCRIPT = String.raw`
(function () {
  'use strict';
  var T0 = performance.now();
  var now = function () { return Math.round(performance.now() - T0); };
  var events = [];
  var xmpp = [];
  var waiters = [];
  var SKIP = { TRACK_AUDIO_LEVEL_CHANGED: true, CONNECTION_STATS: true, BEFORE_STATISTICS_DISPOSED: true };
  var MAX_XMPP_FRAMES = 5000;

  function status(text) {
    var el = document.getElementById('status');
    if (el) el.textContent = text;
  }

  // Make LJM's arguments JSON-safe (participants, tracks, errors, XML elements...).
  function safe(v, depth) {
    depth = depth || 0;
    if (v === null || v === undefined) return v === undefined ? null : v;
    var ty = typeof v;
    if (ty === 'string' || ty === 'number' || ty === 'boolean') return v;
    if (ty === 'function') return '[function]';
    if (v instanceof Error) return { error: v.name, message: v.message };
    if (typeof Element !== 'undefined' && v instanceof Element) {
      try { return new XMLSerializer().serializeToString(v); } catch (e) { return '[element]'; }
    }
    if (typeof v.getId === 'function' && typeof v.getDisplayName === 'function') {
      var p = { id: v.getId(), displayName: v.getDisplayName() };
      try { p.role = v.getRole(); } catch (e) { /* ignore */ }
      try { p.jid = v.getJid(); } catch (e) { /* ignore */ }
      return p;
    }
    if (typeof v.getType === 'function' && typeof v.getTrack === 'function') {
      return { track: v.getType(), local: typeof v.isLocal === 'function' ? v.isLocal() : null };
    }
    if (v instanceof Set) return safe(Array.from(v), depth);
    if (depth > 3) return '[deep]';
    if (Array.isArray(v)) return v.slice(0, 50).map(function (x) { return safe(x, depth + 1); });
    var out = {};
    Object.keys(v).slice(0, 50).forEach(function (k) { out[k] = safe(v[k], depth + 1); });
    return out;
  }

  function record(source, key, name, args) {
    var ev = { t: now(), source: source, key: key, name: name, args: safe(Array.prototype.slice.call(args || [])) };
    events.push(ev);
    waiters.slice().forEach(function (w) { w(ev); });
    return ev;
  }

  function matches(ev, keyOrName) { return ev.key === keyOrName || ev.name === keyOrName; }

  function waitForEvent(keyOrNames, timeoutMs, fromIndex) {
    var list = Array.isArray(keyOrNames) ? keyOrNames : [keyOrNames];
    var start = fromIndex || 0;
    for (var i = start; i < events.length; i++) {
      for (var j = 0; j < list.length; j++) if (matches(events[i], list[j])) return Promise.resolve(events[i]);
    }
    return new Promise(function (resolve) {
      var timer = null;
      function w(ev) {
        for (var k = 0; k < list.length; k++) {
          if (matches(ev, list[k])) { done(ev); return; }
        }
      }
      function done(ev) {
        if (timer) clearTimeout(timer);
        var idx = waiters.indexOf(w);
        if (idx >= 0) waiters.splice(idx, 1);
        resolve(ev);
      }
      waiters.push(w);
      timer = setTimeout(function () { done(null); }, timeoutMs || 15000);
    });
  }

  function subscribe(target, source, table) {
    Object.keys(table).forEach(function (key) {
      if (SKIP[key]) return;
      var name = table[key];
      target.addEventListener(name, function () { record(source, key, name, arguments); });
    });
  }

  // Wrap Strophe's raw hooks (LJM itself wraps rawInput to track liveness, so chain, do not replace).
  function tapXmpp(connection) {
    var sc = connection && connection.xmpp && connection.xmpp.connection && connection.xmpp.connection._stropheConn;
    if (!sc) { record('harness', 'XMPP_TAP_FAILED', 'harness.xmppTapFailed', []); return; }
    ['rawInput', 'rawOutput'].forEach(function (hook) {
      var orig = sc[hook];
      sc[hook] = function (data) {
        if (xmpp.length < MAX_XMPP_FRAMES) xmpp.push({ t: now(), dir: hook === 'rawInput' ? 'in' : 'out', data: String(data) });
        return orig.apply(this, arguments);
      };
    });
  }

  var initialised = false;
  function init(logLevel) {
    if (initialised) return;
    initialised = true;
    JitsiMeetJS.init({});
    JitsiMeetJS.setLogLevel(logLevel || JitsiMeetJS.logLevels.INFO);
  }

  var api = {
    events: events,
    xmpp: xmpp,
    connection: null,
    conference: null,
    room: null,

    // Same recipe as the jitsi-meet app: a copy of window.config whose serviceUrl (and bosh) is
    // config.websocket || config.bosh with ?room=<room> appended.
    connect: function (room, opts) {
      opts = opts || {};
      room = room || 'salontest';
      if (typeof JitsiMeetJS === 'undefined') return Promise.resolve({ ok: false, error: 'no-JitsiMeetJS' });
      if (typeof window.config !== 'object' || !window.config) return Promise.resolve({ ok: false, error: 'no-config' });
      if (api.connection) return Promise.resolve({ ok: false, error: 'already-connected' });
      try {
        init(opts.logLevel);
        var cfg = Object.assign({}, window.config, opts.connectionOverrides || {});
        var base = cfg.websocket || cfg.bosh;
        var serviceUrl = base + (base.indexOf('?') === -1 ? '?' : '&') + 'room=' + encodeURIComponent(room);
        cfg.serviceUrl = cfg.bosh = serviceUrl;
        if (cfg.websocketKeepAliveUrl) {
          cfg.websocketKeepAliveUrl += (cfg.websocketKeepAliveUrl.indexOf('?') === -1 ? '?' : '&') + 'room=' + encodeURIComponent(room);
        }
        var connection = new JitsiMeetJS.JitsiConnection(null, opts.token || null, cfg);
        api.connection = connection;
        api.room = room;
        subscribe(connection, 'connection', JitsiMeetJS.events.connection);
        tapXmpp(connection);
        var from = events.length;
        connection.connect(opts.id ? { id: opts.id, password: opts.password } : {});
        status('connecting ' + serviceUrl);
        return waitForEvent(['CONNECTION_ESTABLISHED', 'CONNECTION_FAILED'], opts.timeoutMs || 15000, from).then(function (ev) {
          if (!ev) return { ok: false, error: 'timeout' };
          if (ev.key === 'CONNECTION_ESTABLISHED') {
            status('connected ' + connection.getJid());
            return { ok: true, jid: connection.getJid(), event: ev };
          }
          status('connection failed ' + JSON.stringify(ev.args));
          return { ok: false, error: String(ev.args[0]), message: ev.args[1] == null ? undefined : String(ev.args[1]), event: ev };
        });
      } catch (e) {
        record('harness', 'EXCEPTION', 'harness.exception', [e]);
        return Promise.resolve({ ok: false, error: 'exception', message: String(e && e.stack || e) });
      }
    },

    // initJitsiConference(room, {...config, p2p:{enabled:false}}) and join(); resolves on
    // CONFERENCE_JOINED or CONFERENCE_FAILED (or {ok:false, error:'timeout'}).
    join: function (room, nick, opts) {
      opts = opts || {};
      room = room || api.room || 'salontest';
      var pre = api.connection ? Promise.resolve({ ok: true }) : api.connect(room, opts);
      return pre.then(function (c) {
        if (!c.ok) return c;
        if (api.conference) return { ok: false, error: 'already-joined' };
        try {
          var cfg = Object.assign({}, window.config, { p2p: Object.assign({}, window.config.p2p || {}, { enabled: false }) },
            opts.conferenceOverrides || {});
          var conference = api.connection.initJitsiConference(room, cfg);
          api.conference = conference;
          subscribe(conference, 'conference', JitsiMeetJS.events.conference);
          if (nick) conference.setDisplayName(nick);
          var from = events.length;
          conference.join();
          status('joining ' + room);
          return waitForEvent(['CONFERENCE_JOINED', 'CONFERENCE_FAILED'], opts.timeoutMs || 15000, from).then(function (ev) {
            if (!ev) return { ok: false, error: 'timeout' };
            if (ev.key === 'CONFERENCE_JOINED') {
              status('joined ' + room + ' as ' + conference.myUserId());
              return { ok: true, event: ev };
            }
            status('conference failed ' + JSON.stringify(ev.args));
            return { ok: false, error: String(ev.args[0]), event: ev };
          });
        } catch (e) {
          record('harness', 'EXCEPTION', 'harness.exception', [e]);
          return { ok: false, error: 'exception', message: String(e && e.stack || e) };
        }
      });
    },

    sendMessage: function (text) {
      if (!api.conference) throw new Error('not in a conference');
      api.conference.sendTextMessage(text);
    },

    leave: function () {
      var c = api.conference;
      api.conference = null;
      return c ? Promise.resolve(c.leave()).then(function () { return { ok: true }; }, function (e) {
        return { ok: false, error: String(e) };
      }) : Promise.resolve({ ok: true });
    },

    disconnect: function () {
      var c = api.connection;
      api.connection = null;
      return c ? Promise.resolve(c.disconnect()).then(function () { return { ok: true }; }, function (e) {
        return { ok: false, error: String(e) };
      }) : Promise.resolve({ ok: true });
    },

    waitForEvent: waitForEvent,
    // Records a conference made by the test itself (events[] with source 'conference').
    now: now,
    watch: function (conference) { subscribe(conference, 'conference', JitsiMeetJS.events.conference); },
    myUserId: function () { return api.conference ? api.conference.myUserId() : null; },
    participants: function () {
      return api.conference ? api.conference.getParticipants().map(function (p) { return safe(p); }) : [];
    },
    clear: function () { events.length = 0; xmpp.length = 0; }
  };

  window.salonTest = api;
  status(typeof JitsiMeetJS === 'undefined' ? 'JitsiMeetJS missing' : 'ready');
})();
`;

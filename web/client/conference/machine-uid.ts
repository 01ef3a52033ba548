/**
 * The `machine-uid` of our conference requests: a random id private to this browser.
 *
 * The focus ties an organiser's host-login session (the `session-id` it answers after a sign-in) to
 * the machine-uid that asked, and honours that session only from the same machine-uid (Jicofo's
 * AbstractAuthenticationAuthority; focus/auth-sessions.ts). So it must be something no one else
 * sees: not the stats-id, which every occupant gets in our presence. lib-jitsi-meet keeps the same
 * kind of id, 32 hex digits, in localStorage as `jitsiMeetId` and sends it as machine-uid
 * (modules/settings/Settings.js `machineId`, modules/xmpp/moderator.js); Salon keeps its own under
 * its own key, drawn from crypto.getRandomValues rather than Math.random.
 */

export const MACHINE_UID_KEY = 'salon.machineUid';
const FORMAT = /^[0-9a-f]{32}$/;

/** This page's, once known: it must not change between the connections of one page. */
let current: string | undefined;

function randomMachineUid(): string {
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * The id remembered in `storage`, or a new one stored there; a new one not stored when storage
 * fails (disabled, a sandboxed frame): then it lasts as long as the page. Touching `storage` may throw.
 */
export function storedMachineUid(storage: () => Pick<Storage, 'getItem' | 'setItem'>): string {
  let made: string | undefined;
  try {
    const store = storage();
    const kept = store.getItem(MACHINE_UID_KEY);
    if (kept !== null && FORMAT.test(kept)) return kept;
    made = randomMachineUid();
    store.setItem(MACHINE_UID_KEY, made);
    return made;
  } catch {
    return made ?? randomMachineUid();
  }
}

/** The browser's machine-uid (localStorage), the same for the whole life of the page. */
export function machineUid(): string {
  current ??= storedMachineUid(() => localStorage);
  return current;
}

/**
 * Which page a path shows: `/` (or `/<tenant>/`) is the landing page, `/<Room>` and
 * `/<tenant>/<Room>` a room, as in jitsi-meet's URLs.
 */
export type Route =
  | { readonly page: 'landing'; readonly tenant: string | undefined; readonly invalidRoom: string | undefined }
  | { readonly page: 'room'; readonly tenant: string | undefined; readonly room: string };

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment; // a malformed escape: keep the raw text so validation can report it
  }
}

/**
 * `isValidRoom` decides whether the last segment is a room; an invalid one leads to the landing
 * page with the name kept, so the user sees why.
 */
export function parseRoute(pathname: string, isValidRoom: (room: string) => boolean): Route {
  const segments = pathname.split('/').filter((s) => s.length > 0).map(decode);
  const room = segments.length > 0 && segments.length <= 2 ? segments[segments.length - 1] : undefined;
  const tenant = segments.length === 2 ? segments[0] : undefined;
  if (room === undefined) return { page: 'landing', tenant: undefined, invalidRoom: undefined };
  if (!isValidRoom(room)) return { page: 'landing', tenant, invalidRoom: room };
  return { page: 'room', tenant, room };
}

/** The path of `room` (under `tenant` if any), each segment escaped. */
export function roomPath(room: string, tenant: string | undefined): string {
  const head = tenant === undefined ? '' : `/${encodeURIComponent(tenant)}`;
  return `${head}/${encodeURIComponent(room)}`;
}

export function homePath(tenant: string | undefined): string {
  return tenant === undefined ? '/' : `/${encodeURIComponent(tenant)}/`;
}

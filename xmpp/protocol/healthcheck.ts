/**
 * Jitsi's bridge health check (protocol notes §6.1; Jicofo's JvbDoctor, jitsi-videobridge's
 * HealthCheckIQ): an IQ get carrying an empty `<healthcheck xmlns="http://jitsi.org/protocol/healthcheck"/>`
 * from the focus to a bridge, answered with an empty result when the bridge is healthy and an
 * error (`internal-server-error`, `service-unavailable`) when it is not.
 */
import { Element } from 'ltx';

export const NS_HEALTHCHECK = 'http://jitsi.org/protocol/healthcheck';

export function buildHealthCheck(): Element {
  return new Element('healthcheck', { xmlns: NS_HEALTHCHECK });
}

/** Whether an IQ's payload is a health check (children and attributes other than the namespace ignored). */
export function isHealthCheck(payload: Element | undefined): boolean {
  return payload?.name === 'healthcheck' && payload.attrs.xmlns === NS_HEALTHCHECK;
}

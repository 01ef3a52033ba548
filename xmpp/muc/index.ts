/**
 * Multi-user chat (XEP-0045) for Salon's conference and internal (brewery) MUC services, as
 * Prosody 0.12 with the Jitsi plugins behaves. Other folders import only this file.
 */
export { MucService, type JoinPolicy, type JoinPolicyContext, type MucServiceOptions } from './service.ts';
export type { MucEvents, MucRoomExtension } from './context.ts';
export type { MucRoomView, RoomConfig } from './room.ts';
export type { MucOccupantView } from './occupant.ts';

/**
 * A room's page: the pre-join screen, then the conference. It creates the controller when the user
 * joins (or at once when the pre-join screen is disabled), leaves it when the page goes away, and
 * creates a fresh one to rejoin, or to join a locked room with its password.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ConferenceController, JoinOptions } from '../../conference/model.ts';
import { ConferenceView } from '../conference/index.tsx';
import { readStored } from '../hooks/use-stored-string.ts';
import type { InitialOptions } from '../initial-options.ts';
import { DISPLAY_NAME_KEY, Prejoin } from '../prejoin/index.tsx';

/** Creates and starts a conference (the app wires the real one; tests give a fake). */
export type CreateConference = (options: JoinOptions) => ConferenceController;

/** What the page lets the code attached to a conference do besides driving its controller. */
export interface RoomActions {
  /**
   * Joins again with this password when the conference failed with `password-required`, as the
   * page's own password field does (the iframe API's `password` command uses it). Does nothing
   * once that conference has been replaced.
   */
  readonly joinWithPassword: (password: string) => void;
}

/** Called with each conference created; returns its cleanup (the iframe API endpoint uses it). */
export type OnConference = (controller: ConferenceController, options: JoinOptions, room: RoomActions) => (() => void) | void;

export interface RoomPageProps {
  readonly room: string;
  /** The tenant the page is under (`/<tenant>/<Room>`), if any. */
  readonly tenant: string | undefined;
  readonly initial: InitialOptions;
  readonly createConference: CreateConference;
  readonly onConference: OnConference | undefined;
  readonly onHome: () => void;
}

interface Joined {
  readonly controller: ConferenceController;
  readonly options: JoinOptions;
  /** Counts joins, so a rejoin gets a fresh conference view (panels closed, nothing pinned). */
  readonly attempt: number;
}

function directJoinOptions(room: string, tenant: string | undefined, initial: InitialOptions): JoinOptions {
  return {
    room,
    tenant,
    displayName: initial.displayName ?? readStored(DISPLAY_NAME_KEY) ?? '',
    audioMuted: initial.startAudioMuted,
    videoMuted: initial.startVideoMuted,
    devices: { audioInput: undefined, videoInput: undefined, audioOutput: undefined },
    jwt: initial.jwt,
  };
}

export function RoomPage({ room, tenant, initial, createConference, onConference, onHome }: RoomPageProps) {
  const [joined, setJoined] = useState<Joined | undefined>(() => {
    if (initial.prejoinEnabled) return undefined;
    const options = directJoinOptions(room, tenant, initial);
    return { controller: createConference(options), options, attempt: 0 };
  });
  // The conference being shown, known before the next render: a controller starts on creation,
  // so two quick requests for the same replacement must not start two.
  const latest = useRef(joined);
  const start = (options: JoinOptions, attempt: number): void => {
    const next = { controller: createConference(options), options, attempt };
    latest.current = next;
    setJoined(next);
  };
  const replace = (current: Joined, options: JoinOptions): void => {
    if (latest.current === current) start(options, current.attempt + 1);
  };
  const passwordActions = (current: Joined): RoomActions => ({
    joinWithPassword: (password) => {
      const phase = current.controller.getState().phase;
      if (phase.name === 'failed' && phase.error === 'password-required') replace(current, { ...current.options, password });
    },
  });

  const controller = joined?.controller;
  useEffect(() => {
    if (!controller || !joined) return;
    const detach = onConference?.(controller, joined.options, passwordActions(joined));
    const onPageHide = (): void => void controller.leave().catch((err: unknown) => console.warn('leave on page hide failed', err));
    addEventListener('pagehide', onPageHide);
    return () => {
      removeEventListener('pagehide', onPageHide);
      if (detach) detach();
      controller.leave().catch((err: unknown) => console.warn('leave failed', err));
    };
    // One attachment per controller; `joined.options` belongs to it.
  }, [controller]);

  if (!joined) {
    return (
      <Prejoin room={room} tenant={tenant} initialName={initial.displayName} startAudioMuted={initial.startAudioMuted}
        startVideoMuted={initial.startVideoMuted} jwt={initial.jwt} onBack={onHome}
        onJoin={(options) => start(options, 0)} />
    );
  }
  return (
    <ConferenceView key={joined.attempt} controller={joined.controller} devices={joined.options.devices}
      initialName={joined.options.displayName}
      passwordPrompt={{ rejected: joined.options.password !== undefined, join: passwordActions(joined).joinWithPassword }}
      onHome={onHome}
      onRejoin={() => replace(joined, joined.options)} />
  );
}

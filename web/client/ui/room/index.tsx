/**
 * A room's page: the pre-join screen, then the conference. It creates the controller when the user
 * joins (or at once when the pre-join screen is disabled), leaves it when the page goes away, and
 * creates a fresh one to rejoin.
 */
import { useEffect, useState } from 'preact/hooks';
import type { ConferenceController, JoinOptions } from '../../conference/model.ts';
import { ConferenceView } from '../conference/index.tsx';
import { readStored } from '../hooks/use-stored-string.ts';
import type { InitialOptions } from '../initial-options.ts';
import { DISPLAY_NAME_KEY, Prejoin } from '../prejoin/index.tsx';

/** Creates and starts a conference (the app wires the real one; tests give a fake). */
export type CreateConference = (options: JoinOptions) => ConferenceController;

/** Called with each conference created; returns its cleanup (the iframe API endpoint uses it). */
export type OnConference = (controller: ConferenceController, options: JoinOptions) => (() => void) | void;

export interface RoomPageProps {
  readonly room: string;
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

function directJoinOptions(room: string, initial: InitialOptions): JoinOptions {
  return {
    room,
    displayName: initial.displayName ?? readStored(DISPLAY_NAME_KEY) ?? '',
    audioMuted: initial.startAudioMuted,
    videoMuted: initial.startVideoMuted,
    devices: { audioInput: undefined, videoInput: undefined, audioOutput: undefined },
    jwt: initial.jwt,
  };
}

export function RoomPage({ room, initial, createConference, onConference, onHome }: RoomPageProps) {
  const [joined, setJoined] = useState<Joined | undefined>(() => {
    if (initial.prejoinEnabled) return undefined;
    const options = directJoinOptions(room, initial);
    return { controller: createConference(options), options, attempt: 0 };
  });

  const controller = joined?.controller;
  useEffect(() => {
    if (!controller || !joined) return;
    const detach = onConference?.(controller, joined.options);
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
      <Prejoin room={room} initialName={initial.displayName} startAudioMuted={initial.startAudioMuted}
        startVideoMuted={initial.startVideoMuted} jwt={initial.jwt} onBack={onHome}
        onJoin={(options) => setJoined({ controller: createConference(options), options, attempt: 0 })} />
    );
  }
  return (
    <ConferenceView key={joined.attempt} controller={joined.controller} devices={joined.options.devices}
      onHome={onHome}
      onRejoin={() => setJoined({ controller: createConference(joined.options), options: joined.options, attempt: joined.attempt + 1 })} />
  );
}

/**
 * Inline SVG icons (drawn for Salon; no external images under the strict CSP). They are
 * decorative: the button or text next to them carries the accessible name.
 */
import type { ComponentChildren } from 'preact';

function Svg({ children, filled = false }: { children: ComponentChildren; filled?: boolean }) {
  return (
    <svg
      class="icon"
      viewBox="0 0 24 24"
      width="24"
      height="24"
      aria-hidden="true"
      focusable="false"
      fill={filled ? 'currentColor' : 'none'}
      stroke={filled ? 'none' : 'currentColor'}
      stroke-width="2"
      stroke-linecap="round"
      stroke-linejoin="round"
    >
      {children}
    </svg>
  );
}

export const MicIcon = () => (
  <Svg>
    <rect x="9" y="3" width="6" height="11" rx="3" />
    <path d="M5 11a7 7 0 0 0 14 0M12 18v3M8 21h8" />
  </Svg>
);

export const MicOffIcon = () => (
  <Svg>
    <path d="M15 10V6a3 3 0 0 0-5.7-1.3M9 9v2a3 3 0 0 0 4.9 2.3" />
    <path d="M5 11a7 7 0 0 0 11.6 5.3M19 11a7 7 0 0 1-.6 2.8M12 18v3M8 21h8M3 3l18 18" />
  </Svg>
);

export const CameraIcon = () => (
  <Svg>
    <rect x="2" y="6" width="14" height="12" rx="2" />
    <path d="M16 10l6-3v10l-6-3z" />
  </Svg>
);

export const CameraOffIcon = () => (
  <Svg>
    <path d="M10 6h4a2 2 0 0 1 2 2v4l6-3v10l-3-1.5M16 16v0a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2V8a2 2 0 0 1 2-2M3 3l18 18" />
  </Svg>
);

export const ScreenIcon = () => (
  <Svg>
    <rect x="2" y="4" width="20" height="13" rx="2" />
    <path d="M8 21h8M12 17v4M12 13V8M9.5 10.5 12 8l2.5 2.5" />
  </Svg>
);

export const ChatIcon = () => (
  <Svg>
    <path d="M4 5h16a1 1 0 0 1 1 1v10a1 1 0 0 1-1 1H9l-5 4V6a1 1 0 0 1 1-1z" />
  </Svg>
);

export const PeopleIcon = () => (
  <Svg>
    <circle cx="9" cy="8" r="3.5" />
    <path d="M2.5 20a6.5 6.5 0 0 1 13 0M16 4.5a3.5 3.5 0 0 1 0 7M18 14a6.5 6.5 0 0 1 3.5 6" />
  </Svg>
);

export const DocumentIcon = () => (
  <Svg>
    <path d="M6 2h8l5 5v14a1 1 0 0 1-1 1H6a1 1 0 0 1-1-1V3a1 1 0 0 1 1-1z" />
    <path d="M14 2v5h5M8 12h8M8 16h8" />
  </Svg>
);

export const HandIcon = () => (
  <Svg>
    <path d="M8 12V5a1.5 1.5 0 0 1 3 0v6M11 11V3.5a1.5 1.5 0 0 1 3 0V11M14 11V5a1.5 1.5 0 0 1 3 0v7" />
    <path d="M17 12v-1a1.5 1.5 0 0 1 3 0v3a8 8 0 0 1-8 8h-.5a7 7 0 0 1-5.6-2.8L3 16.5a1.5 1.5 0 0 1 2.3-2L8 17v-5" />
  </Svg>
);

export const GridIcon = () => (
  <Svg>
    <rect x="3" y="3" width="8" height="8" rx="1" />
    <rect x="13" y="3" width="8" height="8" rx="1" />
    <rect x="3" y="13" width="8" height="8" rx="1" />
    <rect x="13" y="13" width="8" height="8" rx="1" />
  </Svg>
);

export const SettingsIcon = () => (
  <Svg>
    <circle cx="12" cy="12" r="3" />
    <path d="M12 2v3M12 19v3M2 12h3M19 12h3M4.9 4.9l2.1 2.1M17 17l2.1 2.1M4.9 19.1 7 17M17 7l2.1-2.1" />
  </Svg>
);

export const KeyboardIcon = () => (
  <Svg>
    <rect x="2" y="6" width="20" height="12" rx="2" />
    <path d="M6 10h0M10 10h0M14 10h0M18 10h0M7 14h10" />
  </Svg>
);

export const LeaveIcon = () => (
  <Svg>
    <path d="M3 14.5c5-4.7 13-4.7 18 0l-2.2 2.3-3.3-1.6v-2.7a12 12 0 0 0-7 0v2.7l-3.3 1.6z" />
  </Svg>
);

export const CloseIcon = () => (
  <Svg>
    <path d="M6 6l12 12M18 6 6 18" />
  </Svg>
);

export const PinIcon = () => (
  <Svg>
    <path d="M15 3l6 6-4 1-4 4 1 5-2 2-4-4-5 5M8 13l-4-4 2-2 5 1 4-4z" />
  </Svg>
);

export const DownloadIcon = () => (
  <Svg>
    <path d="M12 3v12M7 10l5 5 5-5M4 21h16" />
  </Svg>
);

export const SendIcon = () => (
  <Svg>
    <path d="M3 11 21 3l-8 18-2-8z" />
  </Svg>
);

export const SpeakerIcon = () => (
  <Svg>
    <path d="M4 9h4l5-4v14l-5-4H4z" />
    <path d="M16.5 8.5a5 5 0 0 1 0 7M19 6a8.5 8.5 0 0 1 0 12" />
  </Svg>
);

/** Three bars; the CSS colours as many as the quality deserves (see .quality--*). */
export const QualityIcon = () => (
  <svg class="icon quality-bars" viewBox="0 0 24 24" width="16" height="16" aria-hidden="true" focusable="false">
    <rect class="bar bar-1" x="3" y="14" width="4" height="7" rx="1" />
    <rect class="bar bar-2" x="10" y="9" width="4" height="12" rx="1" />
    <rect class="bar bar-3" x="17" y="3" width="4" height="18" rx="1" />
  </svg>
);

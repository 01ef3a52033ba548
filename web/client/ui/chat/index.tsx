/**
 * The chat panel: the message log (role="log", polite), public and private messages with their
 * time, links made clickable through `linkify` (text nodes and `<a>` only, never HTML), and the
 * composer with its recipient choice.
 */
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import type { ChatMessage, Participant } from '../../conference/model.ts';
import { useI18n } from '../../i18n/index.tsx';
import { SendIcon } from '../icons/index.tsx';
import { linkify } from './linkify.ts';

export interface ChatProps {
  readonly messages: readonly ChatMessage[];
  readonly participants: readonly Participant[];
  readonly visible: boolean;
  readonly onSend: (text: string, to: string | undefined) => void;
}

function MessageText({ text }: { text: string }) {
  return (
    <p class="message-text">
      {linkify(text).map((s, i) =>
        s.kind === 'text' ? s.text : (
          <a key={i} href={s.href} target="_blank" rel="noopener noreferrer">{s.text}</a>
        ))}
    </p>
  );
}

function Message({ message: m, nameOf, onReply }: { message: ChatMessage; nameOf: (id: string) => string; onReply: (id: string) => void }) {
  const { t, formatTime } = useI18n();
  const sender = m.local ? t('chat.you') : m.fromName;
  const privateLine = m.privateWith === undefined ? undefined
    : m.local ? t('chat.privateTo', { name: nameOf(m.privateWith) }) : t('chat.privateFrom', { name: m.fromName });
  return (
    <li class={`message${m.local ? ' message--local' : ''}${privateLine ? ' message--private' : ''}`}>
      <div class="message-head">
        <span class="message-sender">{sender}</span>
        <time dateTime={new Date(m.timestamp).toISOString()} class="message-time">{formatTime(m.timestamp)}</time>
      </div>
      {privateLine && <p class="message-private">{privateLine}</p>}
      <MessageText text={m.text} />
      {!m.local && (
        <button type="button" class="link-button message-reply" onClick={() => onReply(m.from)}>
          {t('chat.replyPrivately', { name: m.fromName })}
        </button>
      )}
    </li>
  );
}

export function Chat({ messages, participants, visible, onSend }: ChatProps) {
  const { t } = useI18n();
  const inputId = useId();
  const toId = useId();
  const [text, setText] = useState('');
  const [to, setTo] = useState<string | undefined>(undefined);
  const input = useRef<HTMLTextAreaElement>(null);
  const log = useRef<HTMLDivElement>(null);
  const others = participants.filter((p) => !p.local);
  const nameOf = (id: string): string => participants.find((p) => p.id === id)?.displayName ?? id;
  // A recipient who left can no longer be written to privately.
  const recipient = to !== undefined && others.some((p) => p.id === to) ? to : undefined;

  useEffect(() => {
    if (visible) input.current?.focus();
  }, [visible]);
  useEffect(() => {
    const el = log.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [messages.length, visible]);

  const send = (event: Event): void => {
    event.preventDefault();
    const body = text.trim();
    if (body === '') return;
    onSend(body, recipient);
    setText('');
  };

  return (
    <div class="chat">
      <div class="chat-log" role="log" aria-live="polite" aria-label={t('chat.log')} ref={log} tabIndex={0}>
        {messages.length === 0
          ? <p class="empty">{t('chat.empty')}</p>
          : <ol class="messages">{messages.map((m) => <Message key={m.id} message={m} nameOf={nameOf} onReply={(id) => { setTo(id); input.current?.focus(); }} />)}</ol>}
      </div>
      <form class="chat-form" onSubmit={send}>
        <div class="field field--inline">
          <label for={toId}>{t('chat.to')}</label>
          <select id={toId} class="select" value={recipient ?? ''} onChange={(e) => setTo(e.currentTarget.value || undefined)}>
            <option value="">{t('chat.everyone')}</option>
            {others.map((p) => <option key={p.id} value={p.id}>{p.displayName}</option>)}
          </select>
        </div>
        <div class="chat-compose">
          <label for={inputId} class="sr-only">{t('chat.input')}</label>
          <textarea
            ref={input}
            id={inputId}
            class="input chat-input"
            rows={2}
            maxLength={10000}
            placeholder={t('chat.input')}
            value={text}
            onInput={(e) => setText(e.currentTarget.value)}
            onKeyDown={(e) => {
              // Enter sends, Shift+Enter starts a new line (the convention of chat clients).
              if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) send(e);
            }}
          />
          <button type="submit" class="button button--primary icon-text" aria-label={t('chat.send')} title={t('chat.send')}>
            <SendIcon />
          </button>
        </div>
      </form>
    </div>
  );
}

// The demo page: signs in via /api/token, connects with @huleedu/ws-client, shows a live badge
// and every notification with its category and priority, and publishes samples via /api/publish.
// Its first paint comes from the history (`recent`), notifications missed while away arrive
// marked "Caught up", and after a `ws.resync` it refetches its list from /api/notifications.
import {
  type AnyNotification,
  type ConnectionState,
  createNotificationClient,
  type Delivery,
  type NotificationClient,
  type ResyncData,
  type StateInfo,
  type TabsInfo,
} from '@huleedu/ws-client';
import { formatNotificationTime, notificationTime } from './when.js';

interface Session {
  token: string;
  userId: string;
  url: string;
}

const element = <T extends HTMLElement = HTMLElement>(id: string) =>
  document.getElementById(id) as T;

async function api<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const result = await response.json();
  if (!response.ok)
    throw new Error(result.error?.message ?? `${method} ${path}: ${response.status}`);
  return result as T;
}

// ---- connection badge -------------------------------------------------------------------------

/** What the badge says for a state: the whole "live / reconnecting / offline" logic of an app. */
function badgeFor(state: ConnectionState, info: StateInfo): { tone: string; text: string } {
  switch (state) {
    case 'open':
      return { tone: 'live', text: 'Live' };
    case 'reconnecting':
      if (info.offline) return { tone: 'offline', text: 'Offline' };
      if (info.error?.code === 'auth_failed') return { tone: 'refused', text: 'Sign-in refused' };
      return {
        tone: 'reconnecting',
        text: `Reconnecting${info.delayMs ? ` in ${Math.ceil(info.delayMs / 1000)} s` : ''}`,
      };
    case 'closed':
      return { tone: 'closed', text: 'Disconnected' };
    default:
      return { tone: 'connecting', text: 'Connecting' };
  }
}

function showState(state: ConnectionState, info: StateInfo): void {
  const { tone, text } = badgeFor(state, info);
  element('badge').dataset.tone = tone;
  element('badge-text').textContent = text;
  element('fact-state').textContent = state;
  element('fact-attempt').textContent = String(info.attempt || '–');
  if (info.code !== undefined) {
    element('fact-close').textContent = `${info.code}${info.reason ? ` ${info.reason}` : ''}`;
  }
}

// ---- notification list ------------------------------------------------------------------------

/**
 * How a notification got into the list: live; from the history on the first connect (`recent`);
 * caught up (replayed after a reconnect); or refetched from the app's API after a resync.
 */
type Origin = 'live' | 'history' | 'caught-up' | 'refetched';

const originLabels: Record<Exclude<Origin, 'live'>, string> = {
  history: 'From history',
  'caught-up': 'Caught up',
  refetched: "From the app's API",
};

/** A notification as the page keeps it: the message, the moment it arrived (set once), its origin. */
interface Received {
  message: AnyNotification;
  arrivedAt: Date;
  origin: Origin;
}

const received: Received[] = [];
let activeCategory = 'all';

const field = (message: AnyNotification, name: string): string | undefined => {
  const value = (message.data as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
};
const categoryOf = (message: AnyNotification) => field(message, 'category') ?? 'uncategorised';
const humanise = (name: string) =>
  name.charAt(0).toUpperCase() + name.slice(1).replaceAll('_', ' ');

function renderFilters(): void {
  const counts = new Map<string, number>();
  for (const { message } of received) {
    counts.set(categoryOf(message), (counts.get(categoryOf(message)) ?? 0) + 1);
  }
  const chips = [['all', received.length] as const, ...counts].map(([category, count]) => {
    const chip = document.createElement('button');
    chip.type = 'button';
    chip.className = 'filter';
    chip.setAttribute('aria-pressed', String(category === activeCategory));
    chip.textContent = category === 'all' ? 'All' : humanise(category);
    const badge = document.createElement('span');
    badge.className = 'count';
    badge.textContent = String(count);
    chip.append(badge);
    chip.addEventListener('click', () => {
      activeCategory = category;
      render();
    });
    return chip;
  });
  element('filters').replaceChildren(...chips);
}

function card({ message, arrivedAt, origin }: Received, fresh: boolean): HTMLLIElement {
  const item = document.createElement('li');
  const priority = field(message, 'priority') ?? 'standard';
  item.className = fresh ? 'notification fresh' : 'notification';
  item.dataset.priority = priority;
  item.dataset.event = message.event;
  item.dataset.origin = origin;

  const meta = document.createElement('div');
  meta.className = 'meta';
  const pill = (text: string, className: string) => {
    const span = document.createElement('span');
    span.className = `pill ${className}`;
    span.textContent = text;
    if (className === 'priority') span.dataset.priority = priority;
    return span;
  };
  meta.append(pill(priority, 'priority'), pill(humanise(categoryOf(message)), 'category'));
  if ((message.data as Record<string, unknown>).action_required === true) {
    meta.append(pill('Action required', 'action'));
  }
  if (origin !== 'live') {
    const label = pill(originLabels[origin], 'origin');
    label.dataset.origin = origin;
    meta.append(label);
  }
  const time = document.createElement('time');
  time.className = 'time';
  const at = notificationTime(field(message, 'timestamp'), arrivedAt);
  time.dateTime = at.toISOString();
  time.title = at.toString();
  time.textContent = formatNotificationTime(at, new Date());
  meta.append(time);

  const title = document.createElement('p');
  title.className = 'title';
  title.textContent = humanise(message.event);
  const text = document.createElement('p');
  text.className = 'message';
  text.textContent = field(message, 'message') ?? '';
  const ids = document.createElement('p');
  ids.className = 'ids';
  ids.textContent = ['batch_id', 'class_id']
    .map((name) => field(message, name) && `${name}=${field(message, name)}`)
    .filter(Boolean)
    .join('  ');
  item.append(meta, title, text, ids);
  return item;
}

/** Redraws filters and list; only the notification that just arrived (`fresh`) animates in. */
function render(fresh?: Received): void {
  renderFilters();
  const visible = received.filter(
    ({ message }) => activeCategory === 'all' || categoryOf(message) === activeCategory,
  );
  element('notifications').replaceChildren(
    ...visible.map((entry) => card(entry, entry === fresh)).reverse(),
  );
  element('empty').hidden = received.length > 0;
  element('fact-count').textContent = String(received.length);
}

// ---- nothing lost: replay, caught up, resync ---------------------------------------------------

let opens = 0;
let caughtUp = 0;

function showNotice(tone: 'caught-up' | 'resync', text: string): void {
  const notice = element('notice');
  notice.dataset.tone = tone;
  notice.textContent = text;
  notice.hidden = false;
}

function showPosition(client: NotificationClient): void {
  const at = client.position;
  element('fact-position').textContent = at?.epoch ? `${at.position} · epoch ${at.epoch}` : '–';
}

/** Where a delivered notification came from, judged by how the client says it came. */
function originOf(delivery: Delivery): Origin {
  if (!delivery.replayed) return 'live';
  // Replayed on the first connection: the `recent` first paint; later: missed while away.
  return opens <= 1 ? 'history' : 'caught-up';
}

function receive(message: AnyNotification, delivery: Delivery): void {
  const entry: Received = { message, arrivedAt: new Date(), origin: originOf(delivery) };
  received.push(entry);
  if (entry.origin === 'caught-up') {
    caughtUp++;
    element('fact-caught-up').textContent = String(caughtUp);
    showNotice(
      'caught-up',
      `Caught up: ${caughtUp} notification${caughtUp === 1 ? '' : 's'} arrived while you were away`,
    );
  }
  render(entry);
}

/** The service could not replay the gap: take the list from the app's own API instead. */
async function resync(resync: ResyncData): Promise<void> {
  showNotice(
    'resync',
    `Resync (${resync.reason}): the history could not cover the gap; the list was refetched from the app's API`,
  );
  const { notifications } = await api<{ notifications: AnyNotification[] }>(
    'GET',
    '/api/notifications',
  );
  received.splice(
    0,
    received.length,
    ...notifications.map((message) => ({
      message,
      arrivedAt: new Date(),
      origin: 'refetched' as const,
    })),
  );
  render();
}

function setUpForgetting(client: NotificationClient): void {
  element('forget-history').addEventListener('click', async () => {
    const status = element('publish-status');
    try {
      await api('POST', '/api/history/forget');
      status.textContent = 'History deleted; reconnecting';
      // A reconnect resumes from the client's position, which the history no longer covers.
      client.close();
      client.connect();
    } catch (error) {
      status.textContent = `Could not delete the history: ${(error as Error).message}`;
    }
  });
}

// ---- publishing -------------------------------------------------------------------------------

async function publish(type?: string): Promise<void> {
  const status = element('publish-status');
  try {
    const result = await api<{ type: string; receivers: number; position: number | null }>(
      'POST',
      '/api/publish',
      { type },
    );
    const listeners = `${result.receivers} service instance${result.receivers === 1 ? '' : 's'}`;
    const stored = result.position === null ? '' : ` (history position ${result.position})`;
    status.textContent = `Published ${humanise(result.type).toLowerCase()} to ${listeners}${stored}`;
  } catch (error) {
    status.textContent = `Publish failed: ${(error as Error).message}`;
  }
}

async function setUpPublishing(): Promise<void> {
  const { types } = await api<{ types: string[] }>('GET', '/api/samples');
  const select = element<HTMLSelectElement>('type');
  select.replaceChildren(
    ...types.map((type) => {
      const option = document.createElement('option');
      option.value = type;
      option.textContent = humanise(type);
      return option;
    }),
  );
  select.value = 'batch_results_ready';
  element('publish').addEventListener('click', () => publish(select.value));
  element('publish-random').addEventListener('click', async () => {
    for (let i = 0; i < 3; i++) await publish();
  });
}

// ---- tabs -------------------------------------------------------------------------------------

/** Says which tab holds the shared socket and how many tabs share it. */
function showTabs(tabs: TabsInfo | undefined): void {
  const text = !tabs
    ? 'own socket'
    : `${tabs.leader ? 'this tab leads' : 'another tab leads'} · ${tabs.count} ${tabs.count === 1 ? 'tab' : 'tabs'} share`;
  element('fact-tabs').textContent = text;
  const pill = element('tabs');
  pill.hidden = !tabs;
  pill.textContent = tabs ? `${tabs.leader ? 'Leader' : 'Follower'} · ${tabs.count} tabs` : '';
}

// ---- start ------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const session = await api<Session>('POST', '/api/token');
  element('user').textContent = `signed in as ${session.userId}`;
  const client = createNotificationClient({
    url: session.url,
    // A fresh token for every connect; the demo server signs one for the demo user.
    getToken: async () => (await api<Session>('POST', '/api/token')).token,
    // The notification centre's first paint: the last 20 from the user's history.
    recent: 20,
  });
  client.onStateChange((state, info) => {
    if (state === 'open') opens++;
    showState(state, info);
  });
  client.onAny((message, delivery) => {
    receive(message, delivery);
    showPosition(client);
  });
  client.onResync((data) => {
    showPosition(client);
    resync(data).catch((error: Error) => {
      element('publish-status').textContent = `Refetch failed: ${error.message}`;
    });
  });
  client.onTabsChange(showTabs);
  client.onError((error) => console.warn(`[ws-client] ${error.code}: ${error.message}`));
  client.connect();
  setUpForgetting(client);
  // For tests and curious developers.
  Object.assign(window, { notificationClient: client });
  render();
  await setUpPublishing();
}

main().catch((error: Error) => {
  element('badge').dataset.tone = 'closed';
  element('badge-text').textContent = 'Demo failed to start';
  element('publish-status').textContent = error.message;
});

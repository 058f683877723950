// The React test page: 20 components with hooks under one provider, in StrictMode. Bundled by
// react.test.ts with esbuild against React 18 or 19; it records what the hooks saw in window.app.
import { createElement as h, StrictMode, useState, version } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import type { NotificationData, TokenContext } from '../../src/index.js';
import {
  NotificationProvider,
  useConnectionState,
  useNotification,
  useNotificationList,
  useTabs,
} from '../../src/react/index.js';

const COMPONENTS = 20;

const log = {
  /** Per component: the batch ids its useNotification handler received. */
  received: Array.from({ length: COMPONENTS }, () => [] as string[]),
  /** The typed data component 0 received. */
  typed: [] as NotificationData<'batch_results_ready'>[],
  /** Every state useConnectionState rendered with, in component 0. */
  states: [] as string[],
  /** How many notifications useNotificationList held at each render of component 0. */
  listLengths: [] as number[],
  leader: undefined as boolean | undefined,
  tokenRequests: 0,
  reactVersion: version,
};

declare global {
  interface Window {
    issueToken(context: TokenContext): Promise<string>;
    app: typeof app;
  }
}

function Watcher({ index }: { index: number }) {
  const state = useConnectionState();
  const tabs = useTabs();
  const list = useNotificationList();
  // A new handler function on every render, as apps write them.
  useNotification('batch_results_ready', (data) => {
    log.received[index]!.push(data.batch_id);
    if (index === 0) log.typed.push(data);
  });
  if (index === 0) {
    if (log.states.at(-1) !== state) log.states.push(state);
    log.listLengths.push(list.length);
    log.leader = tabs?.leader;
  }
  return h('li', null, `${index}: ${state}, ${list.length}`);
}

function App({ url, generation }: { url: string; generation: number }) {
  const [components] = useState(() => Array.from({ length: COMPONENTS }, (_, index) => index));
  return h(
    StrictMode,
    null,
    h(
      NotificationProvider,
      {
        url,
        recent: 5,
        // A new function identity on every render of App; `generation` changes it on purpose.
        getToken: (context: TokenContext) => {
          log.tokenRequests++;
          void generation;
          return window.issueToken(context);
        },
      },
      h(
        'ul',
        null,
        components.map((index) => h(Watcher, { key: index, index })),
      ),
    ),
  );
}

let root: Root | undefined;
let generation = 0;
let serviceUrl = '';

const app = {
  log,
  mount(url: string) {
    serviceUrl = url;
    root = createRoot(document.getElementById('root')!);
    root.render(h(App, { url, generation }));
  },
  /** Renders the app again: a new getToken function reaches the provider. */
  rerender() {
    generation++;
    root?.render(h(App, { url: serviceUrl, generation }));
  },
  unmount() {
    root?.unmount();
    root = undefined;
  },
};
window.app = app;

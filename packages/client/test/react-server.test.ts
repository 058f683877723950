import { createElement as h } from 'react';
import { renderToString } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { NotificationProvider, useConnectionState } from '../src/react/index.js';

function Badge() {
  return h('span', null, useConnectionState());
}

describe('the React provider on a server', () => {
  it('renders without a WebSocket class and opens nothing', () => {
    expect(globalThis.WebSocket).toBeUndefined(); // Node 20
    let tokens = 0;
    const html = renderToString(
      h(
        NotificationProvider,
        { url: 'ws://127.0.0.1:1/ws', getToken: () => `token-${++tokens}` },
        h(Badge),
      ),
    );
    expect(html).toBe('<span>idle</span>');
    expect(tokens).toBe(0);
  });

  it('says which provider is missing when a hook is used outside one', () => {
    expect(() => renderToString(h(Badge))).toThrow(
      /useConnectionState must be used inside <NotificationProvider>/,
    );
  });
});

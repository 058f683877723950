import { describe, expect, it } from 'vitest';
import {
  BEARER_SUBPROTOCOL_PREFIX,
  handshakeToken,
  MAX_TOKEN_LENGTH,
  parseTokenSubprotocols,
  tokenSubprotocols,
  WS_SUBPROTOCOL,
} from '../src/index.js';

const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl_-';

describe('token in Sec-WebSocket-Protocol', () => {
  it('offers huleedu.v1 and the bearer entry, and reads the token back', () => {
    const offered = tokenSubprotocols(jwt);
    expect(offered).toEqual([WS_SUBPROTOCOL, `${BEARER_SUBPROTOCOL_PREFIX}${jwt}`]);
    // Node joins the header the browser sends with ", ".
    expect(parseTokenSubprotocols(offered.join(', '))).toEqual({
      ok: true,
      token: jwt,
      selected: 'huleedu.v1',
    });
    expect(parseTokenSubprotocols(offered.join(','))).toMatchObject({ ok: true, token: jwt });
  });

  it('only puts compact JWTs in the header (all of their characters are HTTP token characters)', () => {
    expect(() => tokenSubprotocols('a b.c.d')).toThrow('expected a compact JWT');
    expect(() => tokenSubprotocols('a,b.c.d')).toThrow('expected a compact JWT');
    expect(() => tokenSubprotocols(`${'a'.repeat(MAX_TOKEN_LENGTH)}.b.c`)).toThrow(
      `at most ${MAX_TOKEN_LENGTH} characters`,
    );
  });

  it('has no token without a header or bearer entry, and selects huleedu.v1 when offered', () => {
    expect(parseTokenSubprotocols(undefined)).toEqual({
      ok: true,
      token: null,
      selected: undefined,
    });
    expect(parseTokenSubprotocols('chat, huleedu.v1')).toEqual({
      ok: true,
      token: null,
      selected: 'huleedu.v1',
    });
  });

  it('refuses two bearer entries, an empty one, an oversized one, or one without huleedu.v1', () => {
    const bearer = `${BEARER_SUBPROTOCOL_PREFIX}${jwt}`;
    const twice = parseTokenSubprotocols(`huleedu.v1, ${bearer}, ${bearer}x`);
    expect(twice).toEqual({ ok: false, reason: 'more than one bearer subprotocol' });
    expect(parseTokenSubprotocols(`huleedu.v1, ${BEARER_SUBPROTOCOL_PREFIX}`)).toMatchObject({
      ok: false,
      reason: 'an empty bearer subprotocol',
    });
    const long = `huleedu.v1, ${BEARER_SUBPROTOCOL_PREFIX}${'a'.repeat(MAX_TOKEN_LENGTH + 1)}`;
    expect(parseTokenSubprotocols(long)).toMatchObject({ ok: false });
    const alone = parseTokenSubprotocols(bearer);
    expect(alone).toEqual({ ok: false, reason: 'a bearer subprotocol without huleedu.v1' });
    // No reason ever quotes the token.
    for (const result of [twice, alone]) expect(JSON.stringify(result)).not.toContain(jwt);
  });
});

describe('the token of a handshake', () => {
  const header = tokenSubprotocols(jwt).join(', ');

  it('comes from the header, or from the legacy query string', () => {
    expect(handshakeToken('/ws', header)).toEqual({
      ok: true,
      token: jwt,
      via: 'subprotocol',
      selected: 'huleedu.v1',
    });
    expect(handshakeToken(`/ws?position=3&token=${jwt}&token=other`, undefined)).toEqual({
      ok: true,
      token: jwt,
      via: 'query',
      selected: undefined,
    });
    // Old client, new subprotocol offered without a token: select it, token from the URL.
    expect(handshakeToken(`/ws?token=${jwt}`, 'huleedu.v1')).toMatchObject({
      token: jwt,
      via: 'query',
      selected: 'huleedu.v1',
    });
    expect(handshakeToken('/ws?token=', undefined)).toEqual({
      ok: true,
      token: null,
      via: null,
      selected: undefined,
    });
  });

  it('refuses a token given both ways, and a bad header, without quoting the token', () => {
    const both = handshakeToken(`/ws?token=${jwt}`, header);
    expect(both).toEqual({
      ok: false,
      reason: 'a token both in the URL and in Sec-WebSocket-Protocol',
    });
    const bad = handshakeToken('/ws', `${BEARER_SUBPROTOCOL_PREFIX}${jwt}`);
    expect(bad.ok).toBe(false);
    expect(JSON.stringify([both, bad])).not.toContain(jwt);
  });
});

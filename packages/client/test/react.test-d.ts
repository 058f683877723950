// Compile-time contract of the React hooks, checked by tsc (`pnpm lint`) and vitest's typecheck
// mode. Nothing here runs: every `@ts-expect-error` line must fail to compile, or tsc reports the
// directive as unused and the check fails.
import { expectTypeOf, test } from 'vitest';
import type { ConnectionState, Delivery, ResyncData, TabsInfo } from '../src/index.js';
import {
  type ListedNotification,
  NotificationProvider,
  useConnectionState,
  useNotification,
  useNotificationList,
  useResync,
  useTabs,
} from '../src/react/index.js';

test('useNotification types the data by the catalogue', () => {
  useNotification('batch_results_ready', (data, message, delivery) => {
    expectTypeOf(data.batch_id).toEqualTypeOf<string>();
    expectTypeOf(data.results_count).toEqualTypeOf<number>();
    expectTypeOf(message.event).toEqualTypeOf<'batch_results_ready'>();
    expectTypeOf(delivery).toEqualTypeOf<Delivery>();
    // @ts-expect-error a misspelt field is not the typed one (at best unknown)
    const count: number = data.results_cont;
    void count;
  });
  // @ts-expect-error a misspelt notification type is not in the catalogue
  useNotification('batch_result_ready', () => {});
  // @ts-expect-error the handler's data is the type's own, not another type's
  useNotification('batch_results_ready', (data: { essay_id: string }) => data);
});

test('the other hooks return what they say', () => {
  expectTypeOf(useConnectionState()).toEqualTypeOf<ConnectionState>();
  expectTypeOf(useTabs()).toEqualTypeOf<TabsInfo | undefined>();
  expectTypeOf(useNotificationList()).toEqualTypeOf<readonly ListedNotification[]>();
  useResync((resync) => expectTypeOf(resync).toEqualTypeOf<ResyncData>());
});

test('the provider takes the client options', () => {
  NotificationProvider({ url: '/ws', getToken: () => 'token', recent: 10 });
  // @ts-expect-error getToken is required
  NotificationProvider({ url: '/ws' });
  // @ts-expect-error a misspelt option is refused
  NotificationProvider({ url: '/ws', getToken: () => 'token', recnt: 10 });
});

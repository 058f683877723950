import { type ServiceProcess, startServiceProcess, waitUntilReady } from './harness.js';

/**
 * Service instances behind a pretend load balancer: a fixed number of slots, each running one
 * `dist/main.js` process (or none, while it restarts). Only ready, non-draining instances are
 * routed to, as a balancer that follows `/readyz` would.
 */
export class ServiceFleet {
  private readonly slots: Array<ServiceProcess | undefined>;
  private readonly routable = new Set<ServiceProcess>();
  private readonly started: ServiceProcess[] = [];
  private turn = 0;

  constructor(
    private readonly env: Record<string, string>,
    size: number,
  ) {
    this.slots = Array.from({ length: size }, () => undefined);
  }

  /** Starts the instance of slot `index` (on a new port) and routes to it once it is ready. */
  async start(index: number): Promise<ServiceProcess> {
    if (this.slots[index] !== undefined) throw new Error(`slot ${index} is already running`);
    const service = await startServiceProcess(this.env);
    this.slots[index] = service;
    this.started.push(service);
    await waitUntilReady(service);
    this.routable.add(service);
    return service;
  }

  /** SIGKILL: the process dies with its sockets, nothing drained. */
  async kill(index: number): Promise<void> {
    const service = this.running(index);
    this.routable.delete(service);
    service.signal('SIGKILL');
    await service.exited;
    this.slots[index] = undefined;
  }

  /**
   * A deploy's stop: no longer routed to, then SIGTERM (sockets closed with 1001); resolves
   * with the exit code once the process is gone.
   */
  async drain(index: number): Promise<number | null> {
    const service = this.running(index);
    this.routable.delete(service);
    service.signal('SIGTERM');
    const { code } = await service.exited;
    this.slots[index] = undefined;
    return code;
  }

  /** `ws://127.0.0.1:<port>/ws` of every routable instance, in slot order. */
  endpoints(): string[] {
    return this.routed().map((service) => service.wsUrl());
  }

  /** The port of a routable instance, taking turns (for a TCP proxy's upstream). */
  nextPort(): number | undefined {
    const routed = this.routed();
    return routed.length === 0 ? undefined : routed[this.turn++ % routed.length]!.port;
  }

  /** The output of every process started so far (a test's failure message). */
  output(): string {
    return this.started.map((s) => `--- service pid ${s.pid} ---\n${s.output()}`).join('\n');
  }

  /** Stops every instance (SIGTERM, then SIGKILL). */
  async stop(): Promise<void> {
    await Promise.all(this.slots.map((service) => service?.stop()));
    this.slots.fill(undefined);
    this.routable.clear();
  }

  private routed(): ServiceProcess[] {
    return this.slots.filter(
      (service): service is ServiceProcess => service !== undefined && this.routable.has(service),
    );
  }

  private running(index: number): ServiceProcess {
    const service = this.slots[index];
    if (service === undefined) throw new Error(`slot ${index} is not running`);
    return service;
  }
}

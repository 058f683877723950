import { type ServiceProcess, startServiceProcess, waitUntilReady } from './harness.js';

/**
 * Service instances behind a pretend load balancer: a fixed number of slots, each running one
 * `dist/main.js` process (or none, while it restarts). Each client has a home slot and is routed
 * there when it can be, else to the next slot; only ready, non-draining instances are routed to,
 * as a balancer that follows `/readyz` would.
 */
export class ServiceFleet {
  private readonly slots: Array<ServiceProcess | undefined>;
  private readonly routable = new Set<ServiceProcess>();
  private readonly started: ServiceProcess[] = [];

  constructor(
    private readonly env: Record<string, string>,
    size: number,
  ) {
    this.slots = Array.from({ length: size }, () => undefined);
  }

  /**
   * Starts the instances of the given slots (each on a new port) and routes to them once all are
   * ready, so clients returning to their home slot find it.
   */
  async start(...indexes: number[]): Promise<void> {
    const services = await Promise.all(
      indexes.map(async (index) => {
        if (this.slots[index] !== undefined) throw new Error(`slot ${index} is already running`);
        const service = await startServiceProcess(this.env);
        this.slots[index] = service;
        this.started.push(service);
        await waitUntilReady(service);
        return service;
      }),
    );
    for (const service of services) this.routable.add(service);
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

  /**
   * Where a client whose home is slot `home` connects now: `ws://127.0.0.1:<port>/ws` of that
   * slot if it is routable, else of the next routable slot; undefined when none is.
   */
  endpoint(home: number): string | undefined {
    return this.routedFrom(home)?.wsUrl();
  }

  /** The port {@link ServiceFleet.endpoint} would pick (for a TCP proxy's upstream). */
  port(home: number): number | undefined {
    return this.routedFrom(home)?.port;
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

  private routedFrom(home: number): ServiceProcess | undefined {
    for (let i = 0; i < this.slots.length; i++) {
      const service = this.slots[(home + i) % this.slots.length];
      if (service !== undefined && this.routable.has(service)) return service;
    }
    return undefined;
  }

  private running(index: number): ServiceProcess {
    const service = this.slots[index];
    if (service === undefined) throw new Error(`slot ${index} is not running`);
    return service;
  }
}

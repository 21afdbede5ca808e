// Readiness: each service reports whether it can do its work; /readyz and `goosed status` read the registry.

export interface ServiceHealth {
  ok: boolean;
  detail: string;
  /** Where a network service answers, for the status page and `goosed status`; absent for internal parts. */
  listen?: { interface?: string; address: string; port: string };
}

export class Readiness {
  private readonly checks = new Map<string, () => ServiceHealth>();

  register(service: string, check: () => ServiceHealth): void {
    this.checks.set(service, check);
  }

  /** Every registered service, in registration order; a check that throws counts as down. */
  report(): { ready: boolean; services: Record<string, ServiceHealth> } {
    const services: Record<string, ServiceHealth> = {};
    for (const [name, check] of this.checks) {
      try {
        services[name] = check();
      } catch (err) {
        services[name] = { ok: false, detail: (err as Error).message };
      }
    }
    return { ready: Object.values(services).every((s) => s.ok), services };
  }
}

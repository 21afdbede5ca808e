// Which machines changed since a boot lookup was cached. Writers mark a machine inside their transaction; the boot
// path caches lookups per MAC and re-reads one only when its machine was marked after it was read. Transactions run
// synchronously on the one thread, so no lookup can slip in between a mark and its commit. New machines need no
// mark: a MAC that is not found is never cached.
export class BootChanges {
  private counter = 0;
  private readonly changedAt = new Map<number, number>();

  /** The stamp to keep with a lookup read now. */
  stamp(): number {
    return this.counter;
  }

  machineChanged(machineId: number): void {
    this.changedAt.set(machineId, ++this.counter);
  }

  /** Whether a lookup of `machineId` stamped `stamp` is still what the database holds. */
  current(machineId: number, stamp: number): boolean {
    return (this.changedAt.get(machineId) ?? 0) <= stamp;
  }
}

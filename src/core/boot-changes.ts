// A version number for everything a boot decision reads (machines, interfaces, runs). Writers bump it inside their
// transaction; the boot path caches lookups per MAC and re-reads one only when the version moved on. Transactions
// run synchronously on the one thread, so no lookup can slip in between a bump and its commit.
export class BootChanges {
  private current = 0;

  get version(): number {
    return this.current;
  }

  bump(): void {
    this.current++;
  }
}

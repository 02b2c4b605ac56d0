interface Holder {
  controller: AbortController;
  done: Promise<void>;
}

export interface UploadLock {
  /** Aborted when a newer request for the same upload wants it. */
  readonly signal: AbortSignal;
  release(): void;
}

/**
 * One request at a time per upload in this process. A newcomer does not queue behind a
 * write in progress: it asks that write to stop (a tus client only sends a new request once
 * it has given up on the old connection, which the server may not have noticed yet) and
 * waits until the bytes it got are saved.
 */
export class UploadLocks {
  readonly #holders = new Map<string, Holder>();

  async acquire(id: string): Promise<UploadLock> {
    // Another newcomer may take the upload between the settle and this turn; look again.
    do await this.settle(id); while (this.#holders.has(id));
    const controller = new AbortController();
    let release!: () => void;
    const done = new Promise<void>((resolve) => {
      release = resolve;
    });
    const holder = { controller, done };
    this.#holders.set(id, holder);
    return {
      signal: controller.signal,
      release: () => {
        if (this.#holders.get(id) === holder) this.#holders.delete(id);
        release();
      },
    };
  }

  /** Stops whatever holds the upload and waits until it has let go. */
  async settle(id: string): Promise<void> {
    for (;;) {
      const current = this.#holders.get(id);
      if (current === undefined) return;
      current.controller.abort();
      await current.done;
    }
  }
}

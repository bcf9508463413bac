/**
 * Native resources (EVP and HMAC contexts) tied to a transform's lifetime: freed by dispose(), or when the
 * transform is garbage-collected. The release callback must not reference the transform itself.
 */
const registry = new FinalizationRegistry<() => void>((release) => release());

/** Tracks one transform's native resources. */
export class NativeResources {
  readonly #token = {};
  #release: (() => void) | undefined;

  constructor(owner: object, release: () => void) {
    this.#release = release;
    registry.register(owner, release, this.#token);
  }

  get released(): boolean {
    return this.#release === undefined;
  }

  /** Free now; later calls do nothing. */
  release(): void {
    const release = this.#release;
    if (release === undefined) return;
    this.#release = undefined;
    registry.unregister(this.#token);
    release();
  }
}

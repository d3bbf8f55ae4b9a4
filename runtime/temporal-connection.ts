// The platform's Temporal client connection (API and CLI). The SDK's Connection scopes deadlines, metadata
// and abort signals per call with an AsyncLocalStorage, and wraps every workflow-service call that names a
// namespace in such a scope to send the namespace header. On Node 20 the first scope switches on promise
// hooks for the whole process, for good: every promise of every prediction then pays for them (57 → 69 µs
// of CPU a single-row predict request, bench/serving.ts against --control-plane-first, measured before this
// connection existed). This one sends the namespace header as static metadata on every call instead, and
// has no call scopes: withDeadline, withMetadata, withAbortSignal and withApiKey run their function as it
// is. Nothing in the platform scopes calls (it uses the client's own timeouts and the connection's
// defaults); a test checks that calls through it leave promise hooks off.
import { Connection, type ConnectionOptions } from '@temporalio/client';

/** A stand-in for the connection's AsyncLocalStorage that scopes nothing, so it never turns hooks on. */
class NoCallScopes {
  getStore(): undefined {
    return undefined;
  }
  run<R, A extends unknown[]>(_store: unknown, fn: (...args: A) => R, ...args: A): R {
    return fn(...args);
  }
  exit<R, A extends unknown[]>(fn: (...args: A) => R, ...args: A): R {
    return fn(...args);
  }
  enterWith(): void {}
  disable(): void {}
}

class UnscopedConnection extends Connection {
  // The RPC implementations built by createCtorOptions read the SDK's own storage, which nothing ever
  // enters now: they see no call context, as for any call made outside a scope.
  protected static override createCtorOptions(options: ConnectionOptions) {
    const ctor = super.createCtorOptions(options);
    return { ...ctor, callContextStorage: new NoCallScopes() as unknown as typeof ctor.callContextStorage };
  }
}

export function connectTemporal(address: string, namespace: string): Promise<Connection> {
  return UnscopedConnection.connect({ address, metadata: { 'temporal-namespace': namespace } });
}

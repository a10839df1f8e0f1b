import { AppError } from '../errors.js';
import type { FaceProvider } from './provider.js';

export type CallObserver = (op: 'start' | 'query', result: string, ms: number) => void;

const resultOf = (err: unknown): string => {
  if (!(err instanceof AppError)) return 'error';
  return err.kind.startsWith('upstream_') ? err.kind.slice('upstream_'.length) : err.kind;
};

/** The provider with every call's outcome (`ok`, `refused`, `timeout`, …) and duration reported. */
export function measuredProvider(inner: FaceProvider, observe: CallObserver): FaceProvider {
  const timed = async <T>(op: 'start' | 'query', call: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      const result = await call();
      observe(op, 'ok', performance.now() - started);
      return result;
    } catch (err) {
      observe(op, resultOf(err), performance.now() - started);
      throw err;
    }
  };
  // A proxy, not a new object: the sandbox's own methods (and `instanceof`) stay reachable.
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'startFace')
        return (input: Parameters<FaceProvider['startFace']>[0]) =>
          timed('start', () => target.startFace(input));
      if (prop === 'queryFlow') return (id: string) => timed('query', () => target.queryFlow(id));
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

// Settings the server entry resolves at start-up (after parsing the environment), read by loaders and
// actions. They live on globalThis because the compiled Remix build holds its own copy of this module.
export interface Runtime {
  sessionSecret: string;
  appUrl: string;
  dataDir: string;
}

const slot = globalThis as typeof globalThis & { __breakevenRuntime?: Runtime };

export function setRuntime(runtime: Runtime | undefined): void {
  slot.__breakevenRuntime = runtime;
}

export function runtime(): Runtime {
  if (!slot.__breakevenRuntime) throw new Error('the server runtime is not configured yet');
  return slot.__breakevenRuntime;
}

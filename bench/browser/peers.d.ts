// The members of workbox-background-sync the bench uses. Declared here so that bench/
// type-checks without bench/node_modules installed; an ambient declaration is used before the
// package's own types.
declare module 'workbox-background-sync' {
  export class Queue {
    constructor(name: string, options?: { forceSyncFallback?: boolean; onSync?: (o: { queue: Queue }) => Promise<void> })
    pushRequest(entry: { request: Request }): Promise<void>
    shiftRequest(): Promise<{ request: Request } | undefined>
  }
}

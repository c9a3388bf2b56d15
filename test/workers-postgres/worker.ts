// The project's Worker module: only the replay Durable Object class, for the handler the exchange test
// builds with createWorkerHandler (as broker/entry/worker-postgres.ts does, with the test's own policy set).
export { ReplayGuardObject } from '../../broker/entry/workers/replay.ts';

export default {
  fetch: () => new Response('the tests build their own handler', { status: 404 }),
};

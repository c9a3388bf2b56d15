// Stands in for undici in the action bundle. @actions/http-client imports undici only for
// getAgentDispatcher(), the proxy dispatcher that fetch-based clients (Octokit) use; request(), which the
// action and core.getIDToken use, goes through node:http(s) and tunnel for proxies. Bundling undici would
// add 800 KB to each bundle for code that never runs.
export class ProxyAgent {
  constructor() {
    throw new Error('undici is not bundled with the secret-broker action');
  }
}

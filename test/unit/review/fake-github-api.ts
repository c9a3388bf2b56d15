// A fake GitHub REST API on loopback, just the issue-comment endpoints the pull-request review uses, checking
// the Authorization header the way GitHub does (401 without the right token). It keeps the comments of each
// issue in memory and records every request, so tests can see what was created and what was updated.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeComment {
  id: number;
  body: string;
  user: { login: string; type: 'Bot' | 'User' };
  html_url: string;
  created_at: string;
  updated_at: string;
}

export interface FakeGithubApi {
  url: string;
  /** Comments per "owner/repo#number". */
  comments: Map<string, FakeComment[]>;
  requests: { method: string; path: string }[];
  /** Adds a comment as someone else would have written it. */
  seed(issue: string, body: string, user?: FakeComment['user']): FakeComment;
  /** Makes POST and PATCH answer 403 (a read-only token, as on pull requests from forks). */
  readOnly: boolean;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? {} : JSON.parse(text);
}

export async function startFakeGithubApi(token: string): Promise<FakeGithubApi> {
  let nextId = 1000;
  const comments = new Map<string, FakeComment[]>();
  const requests: { method: string; path: string }[] = [];
  let base = '';
  const make = (issue: string, body: string, user: FakeComment['user']): FakeComment => {
    const now = new Date().toISOString();
    const [repo, number] = issue.split('#');
    const comment: FakeComment = {
      id: nextId++,
      body,
      user,
      html_url: `https://github.test/${repo}/pull/${number}#issuecomment-${nextId}`,
      created_at: now,
      updated_at: now,
    };
    comments.set(issue, [...(comments.get(issue) ?? []), comment]);
    return comment;
  };

  const api: FakeGithubApi = {
    url: '',
    comments,
    requests,
    readOnly: false,
    seed: (issue, body, user = { login: 'alice', type: 'User' }) => make(issue, body, user),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', base);
    requests.push({ method: req.method ?? '', path: url.pathname });
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(body));
    };
    const auth = req.headers.authorization ?? '';
    if (auth !== `token ${token}` && auth !== `Bearer ${token}`) return send(401, { message: 'Bad credentials' });

    const list = /^\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/comments$/.exec(url.pathname);
    const one = /^\/repos\/([^/]+)\/([^/]+)\/issues\/comments\/(\d+)$/.exec(url.pathname);
    if (list && req.method === 'GET') {
      const all = comments.get(`${list[1]}/${list[2]}#${list[3]}`) ?? [];
      const perPage = Number(url.searchParams.get('per_page') ?? 30);
      const page = Number(url.searchParams.get('page') ?? 1);
      const slice = all.slice((page - 1) * perPage, page * perPage);
      if (page * perPage < all.length) {
        const next = new URL(url);
        next.searchParams.set('page', String(page + 1));
        res.setHeader('link', `<${next.toString()}>; rel="next"`);
      }
      return send(200, slice);
    }
    if (list && req.method === 'POST') {
      if (api.readOnly) return send(403, { message: 'Resource not accessible by integration' });
      const body = (await readBody(req)) as { body?: unknown };
      if (typeof body.body !== 'string') return send(422, { message: 'body is required' });
      return send(201, make(`${list[1]}/${list[2]}#${list[3]}`, body.body, { login: 'github-actions[bot]', type: 'Bot' }));
    }
    if (one && req.method === 'PATCH') {
      if (api.readOnly) return send(403, { message: 'Resource not accessible by integration' });
      const id = Number(one[3]);
      for (const [issue, list] of comments) {
        if (!issue.startsWith(`${one[1]}/${one[2]}#`)) continue;
        const found = list.find((c) => c.id === id);
        if (!found) continue;
        if (found.user.type !== 'Bot') return send(403, { message: 'Resource not accessible by integration' });
        const body = (await readBody(req)) as { body?: unknown };
        if (typeof body.body !== 'string') return send(422, { message: 'body is required' });
        found.body = body.body;
        found.updated_at = new Date().toISOString();
        return send(200, found);
      }
      return send(404, { message: 'Not Found' });
    }
    return send(404, { message: 'Not Found' });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  api.url = base;
  return api;
}

// Preloaded (NODE_OPTIONS=--require) into the Node clients the tests run, such as Comunica.
//
// Their HTTP requests all go through the global fetch. This wrapper refuses any request
// to a host off loopback: a test must never reach the internet, and link traversal
// would otherwise follow vocabulary and authority IRIs out to it. When
// STUDYGRAPH_FETCH_LOG names a file, it appends JSON lines to it: one when a request is
// made (id, method, URL, Accept header, whether it was refused) and one when it is
// answered (id, status, Content-Type), so a test can say what the client asked for and
// what it was given.
'use strict';
const fs = require('node:fs');

const logFile = process.env.STUDYGRAPH_FETCH_LOG;
const realFetch = globalThis.fetch;
let requests = 0;

function isLoopback(hostname) {
  const host = hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function log(entry) {
  if (logFile) {
    fs.appendFileSync(logFile, JSON.stringify(entry) + '\n');
  }
}

globalThis.fetch = async function loopbackFetch(input, init) {
  const request = typeof input === 'object' && !(input instanceof URL) ? input : undefined;
  const url = request ? request.url : String(input);
  const headers = new Headers((init && init.headers) || (request && request.headers) || {});
  const method = (init && init.method) || (request && request.method) || 'GET';
  const refused = !isLoopback(new URL(url).hostname);
  const id = ++requests;
  log({ id, method, url, accept: headers.get('accept'), refused });
  if (refused) {
    throw new TypeError(`refused by the test harness: ${url} is not on loopback`);
  }
  const response = await realFetch(input, init);
  log({ id, status: response.status, contentType: response.headers.get('content-type') });
  return response;
};

// The gateway's API as the console calls it. Every request goes through request(): it adds the API token
// (when one is set) and turns any failure into an ApiError that carries the API's code and message.

export class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

// The API token, when the gateway requires one: kept in sessionStorage, so it is gone when the tab closes
// (in memory only if the browser refuses storage). It is only ever sent in the Authorization header.
const TOKEN_KEY = "console.token";
let memoryToken = null;
export function getToken() {
  try { return sessionStorage.getItem(TOKEN_KEY) || null; } catch (e) { return memoryToken; }
}
export function setToken(token) {
  memoryToken = token || null;
  try { if (token) sessionStorage.setItem(TOKEN_KEY, token); else sessionStorage.removeItem(TOKEN_KEY); }
  catch (e) { /* storage unavailable: memoryToken */ }
}

// What a 401 to the stored token does (auth.js signs out); set there, so that this module needs no UI.
let authLost = () => {};
export function onAuthLost(handler) { authLost = handler; }

// Adds "Authorization: Bearer <token>" when a token is set (token: the one to send instead of the stored
// one — the sign-in form tries a token before keeping it). Any failure becomes an ApiError with the API's
// error envelope {"error": {"code", "message"}}, or the start of the body when there is none.
export async function request(url, options, token = getToken()) {
  const opts = Object.assign({}, options);
  if (token) {
    const headers = new Headers(opts.headers || undefined);
    headers.set("Authorization", "Bearer " + token);
    opts.headers = headers;
  }
  let res;
  try { res = await fetch(url, opts); }
  catch (e) { throw new ApiError(0, "unreachable", "cannot reach the gateway (" + e.message + ")"); }
  if (res.ok) return res;
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { /* not JSON */ }
  const err = data && data.error;
  const failure = err ? new ApiError(res.status, err.code, err.message)
                      : new ApiError(res.status, "http_" + res.status, text.slice(0, 200) || res.statusText);
  if (res.status === 401 && token === getToken()) authLost(failure);  // not a 401 to a token tried meanwhile
  throw failure;
}

// request + JSON.
export async function call(url, options, token) {
  const res = await request(url, options, token);
  if (res.status === 204) return null;
  const text = await res.text();
  try { return text ? JSON.parse(text) : null; } catch (e) { return null; /* not JSON */ }
}

export const sendJson = (method, body) => ({method, headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});

// Paths are relative to the page, so that the console works wherever the gateway is mounted.
export const personUrl = (rollNo) => "api/v1/persons/" + encodeURIComponent(rollNo);
export const sessionUrl = (id) => "api/v1/sessions/" + encodeURIComponent(id);

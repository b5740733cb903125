// Authentication: GET api/v1/me says whether the gateway requires a key ("off": the API is open) and whose
// the key is, with its scope. Shows who is signed in, and the sign-in box when a key is wanted.
import {ApiError, call, getToken, onAuthLost, setToken} from "./api.js";
import {$, busy, el, show} from "./dom.js";
import {errorBox, note} from "./messages.js";
import {forgetOperator, operatorInput, prefillOperator, showOperatorRequired} from "./operator.js";
import {principal, setPrincipal} from "./whoami.js";

let authChecking = null;  // the GET api/v1/me in flight
const hooks = {signedIn: () => {}, signedOut: () => {}};

const authState = () => principal().auth;
const signedIn = () => principal().auth === "required" && !!getToken() && !!principal().name;
// Whether the lists can be fetched now: known, and not waiting for a key.
export const canLoad = () => authState() === "off" || signedIn();

// What to do after signing in (load everything again) and after signing out (clear what the key fetched).
export function onSignIn(handler) { hooks.signedIn = handler; }
export function onSignOut(handler) { hooks.signedOut = handler; }

// Resolves to whether the lists can be loaded now (false: the gateway wants a key that is not given).
export function checkAuth() {
  if (!authChecking) authChecking = askMe().finally(() => { authChecking = null; });
  return authChecking;
}
async function askMe() {
  const token = getToken();
  try {
    const me = await call("api/v1/me", {cache: "no-store"});
    if (me && me.authentication === "required") {
      if (token && token === getToken()) {  // (not signed out or in again meanwhile)
        setPrincipal({auth: "required", name: me.operator || "?", scope: me.scope || null});
        if (!operatorInput.value.trim()) prefillOperator(principal().name);  // a name typed in this browser stays
      } else {
        setPrincipal({auth: "required"});
      }
    } else {
      setToken(null);
      setPrincipal({auth: "off", name: null, scope: null});
    }
    renderAuth();
    return true;
  } catch (err) {
    if (err.status === 401) {  // authLost has shown the sign-in box; no key given: no error to show yet
      if (!token) show($("signin-message"));
      return false;
    }
    if (err.status === 404) {  // a gateway without authentication
      setPrincipal({auth: "off", name: null, scope: null});
      renderAuth();
      return true;
    }
    return true;  // unreachable: the lists fail as before, and checkAuth runs again once the gateway is back
  }
}

// The header: who is signed in (or a discreet note when authentication is off); the sign-in box when needed.
// Rebuilt only when it changes (it is checked every 15 s: a focused Sign out button must stay).
let rendered = null;
function renderAuth() {
  const box = $("auth-status"), p = principal();
  const state = [p.auth, signedIn(), p.name, p.scope].join("|");
  if (state === rendered) return;
  rendered = state;
  if (signedIn()) {
    show(box, el("span", {}, "Signed in as ", el("strong", {}, p.name), p.scope ? " (" + p.scope + ")" : ""),
         el("button", {type: "button", id: "signout", onclick: signOut}, "Sign out"));
  } else if (p.auth === "off") {
    show(box, el("span", {class: "auth-off"}, "API open: no key needed"));
  } else {
    show(box);
  }
  $("signin").hidden = !(p.auth === "required" && !signedIn());
  showOperatorRequired(signedIn() ? p.name : null);
}

// A 401 to the stored key (or to none): the key is gone; sign in again.
onAuthLost((err) => {
  setToken(null);
  setPrincipal({auth: "required", name: null, scope: null});
  renderAuth();
  show($("signin-message"), errorBox(err));
});

$("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target, input = form.elements.token, token = input.value.trim(), out = $("signin-message");
  if (!token) { show(out, errorBox(new ApiError(0, "missing_token", "enter your API key"))); input.focus(); return; }
  show(out, note("Checking the key…"));
  try {
    const me = await busy(form, "Signing in…", () => call("api/v1/me", {cache: "no-store"}, token));
    input.value = "";
    show(out);
    if (me && me.authentication === "required") {
      setToken(token);
      setPrincipal({auth: "required", name: me.operator || "?", scope: me.scope || null});
      prefillOperator(principal().name);
    } else {
      setToken(null);  // the gateway stopped requiring keys: nothing to keep
      setPrincipal({auth: "off", name: null, scope: null});
    }
    renderAuth();
    hooks.signedIn();
  } catch (err) {
    show(out, errorBox(err.status === 401 ? new ApiError(401, err.code, "this key was refused — " + err.message) : err,
                       {signIn: false}));
    input.select();
  }
});

function signOut() {
  setToken(null);
  setPrincipal({name: null, scope: null});
  forgetOperator();
  hooks.signedOut();
  renderAuth();
  show($("signin-message"), note("Signed out."));
  $("signin-form").elements.token.focus();
}

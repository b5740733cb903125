// Authentication: GET api/v1/me says whether the gateway requires a token ("off": the API is open) and whose
// the token is. Shows who is signed in, and the sign-in box when a token is wanted.
import {ApiError, call, getToken, onAuthLost, setToken} from "./api.js";
import {$, busy, el, show} from "./dom.js";
import {errorBox, note} from "./messages.js";
import {forgetOperator, operatorInput, prefillOperator, showOperatorRequired} from "./operator.js";

let auth = "unknown";     // "unknown" (not known yet: gateway unreachable), "off" or "required"
let operatorName = null;  // the name of the token signed in with
let authChecking = null;  // the GET api/v1/me in flight
const hooks = {signedIn: () => {}, signedOut: () => {}};

export const authState = () => auth;
export const tokenName = () => operatorName;
export const signedIn = () => auth === "required" && !!getToken() && !!operatorName;

// What to do after signing in (load everything again) and after signing out (clear what the token fetched).
export function onSignIn(handler) { hooks.signedIn = handler; }
export function onSignOut(handler) { hooks.signedOut = handler; }

// Resolves to whether the lists can be loaded now (false: the gateway wants a token that is not given).
export function checkAuth() {
  if (!authChecking) authChecking = askMe().finally(() => { authChecking = null; });
  return authChecking;
}
async function askMe() {
  const token = getToken();
  try {
    const me = await call("api/v1/me", {cache: "no-store"});
    if (me && me.authentication === "required") {
      auth = "required";
      if (token && token === getToken()) {  // (not signed out or in again meanwhile)
        operatorName = me.operator || "?";
        if (!operatorInput.value.trim()) prefillOperator(operatorName);  // a name typed in this tab's browser stays
      }
    } else {
      auth = "off";
      operatorName = null;
      setToken(null);
    }
    renderAuth();
    return true;
  } catch (err) {
    if (err.status === 401) {  // authLost has shown the sign-in box; no token given: no error to show yet
      if (!token) show($("signin-message"));
      return false;
    }
    if (err.status === 404) { auth = "off"; renderAuth(); return true; }  // a gateway without authentication
    return true;  // unreachable: the lists fail as before, and checkAuth runs again once the gateway is back
  }
}

// The header: who is signed in (or a discreet note when authentication is off); the sign-in box when needed.
function renderAuth() {
  const box = $("auth-status");
  if (signedIn()) {
    show(box, el("span", {}, "Signed in as ", el("strong", {}, operatorName)),
         el("button", {type: "button", id: "signout", onclick: signOut}, "Sign out"));
  } else if (auth === "off") {
    show(box, el("span", {class: "auth-off"}, "authentication off"));
  } else {
    show(box);
  }
  $("signin").hidden = !(auth === "required" && !signedIn());
  showOperatorRequired(signedIn() ? operatorName : null);
}

// A 401 to the stored token (or to none): the token is gone; sign in again.
onAuthLost((err) => {
  setToken(null);
  operatorName = null;
  auth = "required";
  renderAuth();
  show($("signin-message"), errorBox(err));
});

$("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target, input = form.elements.token, token = input.value.trim(), out = $("signin-message");
  if (!token) { show(out, errorBox(new ApiError(0, "missing_token", "enter your API token"))); input.focus(); return; }
  show(out, note("Checking the token…"));
  try {
    const me = await busy(form, "Signing in…", () => call("api/v1/me", {cache: "no-store"}, token));
    input.value = "";
    show(out);
    if (me && me.authentication === "required") {
      auth = "required";
      setToken(token);
      operatorName = me.operator || "?";
      prefillOperator(operatorName);
    } else {
      auth = "off";  // the gateway stopped requiring tokens: nothing to keep
      operatorName = null;
      setToken(null);
    }
    renderAuth();
    hooks.signedIn();
  } catch (err) {
    show(out, errorBox(err.status === 401 ? new ApiError(401, err.code, "this token was refused — " + err.message) : err));
    input.select();
  }
});

function signOut() {
  setToken(null);
  operatorName = null;
  forgetOperator();
  hooks.signedOut();
  renderAuth();
  show($("signin-message"), note("Signed out."));
  $("signin-form").elements.token.focus();
}

// Who the console acts as: whether the gateway needs a key ("unknown" until it has answered, "off", "required")
// and, signed in, the key's name and scope. Kept apart from auth.js (which signs in and out) so that the
// messages, the navigation and the pages can read it without importing the sign-in box.
const state = {auth: "unknown", name: null, scope: null};
const listeners = [];

export const principal = () => state;

export function setPrincipal(changes) {
  Object.assign(state, changes);
  listeners.forEach((listener) => listener(state));
}
export const onPrincipalChange = (listener) => { listeners.push(listener); };

// Administration is for admin keys, and for everybody while the API is open (it is then all open anyway).
export const isAdmin = () => state.auth === "off" || (state.auth === "required" && state.scope === "admin");

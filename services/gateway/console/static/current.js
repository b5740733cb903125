// The attendance session shown in the panel (null: none). Kept here, apart from the modules that show it,
// so that the panel, the sessions list and the report follow it without importing one another.
let current = null;
const listeners = [];

export const currentSession = () => current;

// Every change is announced: the panel shows (or hides) the session, the sessions list marks its row.
export function setCurrent(session) {
  current = session;
  listeners.forEach((listener) => listener(current));
}
export function onCurrentChange(listener) { listeners.push(listener); }

// Whether session id is still the one shown: an answer about another one arrives too late to be shown.
export const stillCurrent = (id) => !!current && current.id === id;

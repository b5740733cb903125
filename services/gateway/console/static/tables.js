// Loading a list from the API into a table — the one way every list of the console is loaded.
import {call} from "./api.js";
import {$, show} from "./dom.js";
import {errorBox} from "./messages.js";

// A list's table body, caption and message box, by the prefix of their ids (persons-body, persons-caption…).
export const tableOf = (prefix) => ({body: $(prefix + "-body"), caption: $(prefix + "-caption"), message: $(prefix + "-message")});

// Load one list into its table: "Loading…" in the caption, then a row per item and the caption's text.
// A list that fails to load empties its table and shows the error in its message box, marked as a load
// error: the next load that succeeds removes it (messages of actions stay), and failedToLoad finds it.
//   url():        the URL, built inside the attempt (building it may throw an ApiError, e.g. a bad date)
//   items(data):  the list in the answer;  row(item): its table row;  caption(items): the caption's text
//   stale():      true when the answer arrives too late to be shown (another session opened meanwhile)
//   loaded(data): shows what else the answer holds, before the rows;  failed(): clears it
export async function loadTable(table, {url, items, row, caption, stale = () => false, loaded = () => {}, failed = () => {}}) {
  const {body, caption: captionBox, message} = table;
  captionBox.textContent = "Loading…";
  try {
    const data = await call(url(), {cache: "no-store"});
    if (stale()) return;
    const list = items(data);
    loaded(data);
    show(body, ...list.map(row));
    captionBox.textContent = caption(list);
    if (message.querySelector("[data-load-error]")) show(message);
  } catch (err) {
    if (stale()) return;
    show(body);
    failed();
    captionBox.textContent = "";
    const box = errorBox(err);
    box.dataset.loadError = "";
    show(message, box);
  }
}

// Whether a list's message box shows a failed load (anyError: or any other error).
export const failedToLoad = (message, anyError) => !!message.querySelector(anyError ? ".error" : "[data-load-error]");
